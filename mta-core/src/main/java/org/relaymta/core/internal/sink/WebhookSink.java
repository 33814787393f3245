package org.relaymta.core.internal.sink;

import io.netty.handler.codec.http.HttpMethod;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.relaymta.config.internal.EventSettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.EventJson;
import org.relaymta.core.internal.outbox.EventSink;
import org.relaymta.core.internal.outbox.SinkException;
import org.relaymta.core.internal.tls.HttpsRequests;

/**
 * POSTs events to one URL as a JSON array, signed: {@code X-Relay-Signature: t=<unix seconds>,
 * v1=<hex HMAC-SHA256 of "<t>.<body>">} with the key of {@code event_webhook_secret_file}, so the
 * receiver can tell the batch is the relay's and fresh. A 2xx takes the batch; 408, 429, 5xx, a
 * timeout or a failed connection are tried again; any other answer (a redirect is never followed)
 * is a refusal. The URL's query string may hold a token: it is sent, never logged.
 */
public final class WebhookSink implements EventSink {
    public static final String SIGNATURE_HEADER = "X-Relay-Signature";
    private static final int MAX_ANSWER = 64 * 1024;

    private final EventSettings.Webhook hook;
    private final Supplier<EventSettings> settings;
    private final Supplier<HttpsRequests> https;
    private final Function<String, CompletableFuture<InetAddress>> resolver;
    private final String name;

    public WebhookSink(EventSettings.Webhook hook, Supplier<EventSettings> settings, Supplier<HttpsRequests> https,
                       Function<String, CompletableFuture<InetAddress>> resolver) {
        this.hook = hook;
        this.settings = settings;
        this.https = https;
        this.resolver = resolver;
        this.name = "webhook-" + HexFormat.of().formatHex(sha256(hook.url().toString().getBytes(StandardCharsets.UTF_8)), 0, 6);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String label() {
        return "webhook " + hook.safeText();
    }

    @Override
    public int maxBatch() {
        return settings.get().webhookBatchLimit();
    }

    @Override
    public boolean wants(DeliveryEvent event) {
        return hook.wants(event.status().eventName());
    }

    @Override
    public void deliver(List<DeliveryEvent> batch) throws SinkException, InterruptedException {
        EventSettings s = settings.get();
        byte[] body = body(batch);
        // Wall time, not the engine's clock (which tests move): the receiver compares t with its own.
        long t = Instant.now().getEpochSecond();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        headers.put(SIGNATURE_HEADER, signature(s.webhookSecret().orElseThrow().value(), t, body));
        headers.put("X-Relay-Event-Count", String.valueOf(batch.size()));
        URI u = hook.url();
        boolean tls = u.getScheme().equalsIgnoreCase("https");
        int port = u.getPort() > 0 ? u.getPort() : tls ? 443 : 80;
        String host = u.getHost().startsWith("[") ? u.getHost().substring(1, u.getHost().length() - 1) : u.getHost();
        String path = (u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
        Duration timeout = s.webhookTimeout();
        HttpsRequests.Response answer;
        try {
            answer = resolver.apply(host)
                    .thenCompose(a -> https.get().send(tls, HttpMethod.POST, u.getHost(), a, port, path, headers, body, timeout,
                            MAX_ANSWER))
                    .get(timeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new SinkException((HttpsRequests.certificateProblem(c) ? "TLS verification failed: " : "")
                    + describe(c), false);
        } catch (TimeoutException e) {
            throw new SinkException("no answer within " + timeout.toSeconds() + " s", false);
        }
        int status = answer.status();
        if (status >= 200 && status < 300) {
            return;
        }
        boolean again = status == 408 || status == 429 || status >= 500;
        throw new SinkException("HTTP " + status + (status >= 300 && status < 400 ? " (redirects are not followed)" : ""),
                !again);
    }

    /** A JSON array of the events, each in the published form. */
    static byte[] body(List<DeliveryEvent> batch) {
        StringBuilder sb = new StringBuilder(batch.size() * 700).append('[');
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(EventJson.write(batch.get(i)));
        }
        return sb.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code t=<t>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>}. */
    public static String signature(String key, long t, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((t + ".").getBytes(StandardCharsets.US_ASCII));
            return "t=" + t + ",v1=" + HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    private static String describe(Throwable c) {
        String m = c.getMessage();
        return c.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
