package org.relaymta.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;

/**
 * The HTTPS side of MTA-STS for tests: serves {@code /.well-known/mta-sts.txt} for the policy hosts
 * {@code mta-sts.<domain>} named in the Host header, with a certificate the test makes (signed by a
 * test CA the relay is told to trust, or not). A domain's answer can be a policy, an HTTP status, a
 * redirect, or another media type; the server can be stopped to test cached policies.
 */
public final class StsPolicyServer implements AutoCloseable {
    /** What one policy host answers. */
    public record Answer(int status, String contentType, String body, String location) {
        public static Answer policy(String text) {
            return new Answer(200, "text/plain; charset=utf-8", text, null);
        }
    }

    private final HttpsServer server;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    /** The Host headers of the requests, in order. */
    public final List<String> requests = new CopyOnWriteArrayList<>();

    public StsPolicyServer(InetAddress bind, int port, SSLContext tls) throws IOException {
        server = HttpsServer.create(new InetSocketAddress(bind, port), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", this::handle);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code mta-sts.<domain>} answers the policy {@code text}. */
    public StsPolicyServer policy(String domain, String text) {
        answers.put("mta-sts." + domain.toLowerCase(Locale.ROOT), Answer.policy(text));
        return this;
    }

    public StsPolicyServer answer(String domain, Answer answer) {
        answers.put("mta-sts." + domain.toLowerCase(Locale.ROOT), answer);
        return this;
    }

    /** The policy text of RFC 8461's syntax: {@code enforce}, 86400, the given mx patterns. */
    public static String policyText(String mode, long maxAge, String... mx) {
        StringBuilder sb = new StringBuilder("version: STSv1\r\nmode: " + mode + "\r\n");
        for (String m : mx) {
            sb.append("mx: ").append(m).append("\r\n");
        }
        return sb.append("max_age: ").append(maxAge).append("\r\n").toString();
    }

    private void handle(HttpExchange ex) throws IOException {
        String host = ex.getRequestHeaders().getFirst("Host");
        String name = host == null ? "" : host.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
        requests.add(name);
        Answer a = answers.get(name);
        if (a == null || !ex.getRequestURI().getPath().equals("/.well-known/mta-sts.txt")) {
            a = new Answer(404, "text/plain", "not found", null);
        }
        byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", a.contentType());
        if (a.location() != null) {
            ex.getResponseHeaders().set("Location", a.location());
        }
        ex.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
