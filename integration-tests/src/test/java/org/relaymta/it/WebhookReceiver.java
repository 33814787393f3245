package org.relaymta.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;

/**
 * A webhook receiver as an application would write one: it checks {@code X-Relay-Signature}
 * (HMAC-SHA256 of "t.body" with the shared key, compared in constant time, t at most 5 minutes
 * old) and keeps the events of the batches it accepted. {@link #answer} is the status it gives
 * (503 while "down"); a batch is only kept when the answer is 2xx.
 */
final class WebhookReceiver implements AutoCloseable {
    final List<JsonObject> events = new CopyOnWriteArrayList<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger badSignatures = new AtomicInteger();
    final AtomicInteger batches = new AtomicInteger();
    final AtomicInteger answer = new AtomicInteger(200);
    volatile String lastBody;
    volatile String lastSignature;
    private final HttpServer server;
    private final byte[] key;

    private WebhookReceiver(HttpServer server, String key) {
        this.server = server;
        this.key = key.getBytes(StandardCharsets.UTF_8);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.start();
    }

    static WebhookReceiver http(String key) throws IOException {
        return new WebhookReceiver(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50), key);
    }

    static WebhookReceiver https(String key, SSLContext tls) throws IOException {
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        s.setHttpsConfigurator(new HttpsConfigurator(tls));
        return new WebhookReceiver(s, key);
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        byte[] body;
        try (InputStream in = x.getRequestBody()) {
            body = in.readAllBytes();
        }
        requests.add(x.getRequestMethod() + " " + x.getRequestURI());
        String signature = x.getRequestHeaders().getFirst("X-Relay-Signature");
        int status = answer.get();
        if (!verify(signature, body)) {
            badSignatures.incrementAndGet();
            status = 401;
        } else if (status / 100 == 2) {
            lastBody = new String(body, StandardCharsets.UTF_8);
            lastSignature = signature;
            batches.incrementAndGet();
            JsonArray array = JsonParser.parseString(lastBody).getAsJsonArray();
            List<JsonObject> got = new ArrayList<>();
            for (JsonElement e : array) {
                got.add(e.getAsJsonObject());
            }
            events.addAll(got);
        }
        x.sendResponseHeaders(status, -1);
        x.close();
    }

    /** The check the documentation shows: t=..,v1=.. ; HMAC-SHA256(key, t + "." + body); fresh. */
    boolean verify(String header, byte[] body) {
        if (header == null) {
            return false;
        }
        String t = null;
        String v1 = null;
        for (String part : header.split(",")) {
            String[] kv = part.strip().split("=", 2);
            if (kv.length == 2 && kv[0].equals("t")) {
                t = kv[1];
            } else if (kv.length == 2 && kv[0].equals("v1")) {
                v1 = kv[1];
            }
        }
        if (t == null || v1 == null || Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t)) > 300) {
            return false;
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((t + ".").getBytes(StandardCharsets.US_ASCII));
            byte[] expected = mac.doFinal(body);
            return MessageDigest.isEqual(expected, HexFormat.of().parseHex(v1));
        } catch (Exception e) {
            return false;
        }
    }

    /** The events for one recipient, in the order received. */
    List<JsonObject> eventsFor(String recipient) {
        return events.stream().filter(e -> recipient.equals(e.has("recipient") ? e.get("recipient").getAsString() : null))
                .toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
