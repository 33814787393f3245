package org.relaymta.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.relaymta.core.ActionResult;
import org.relaymta.core.internal.queue.QueueActions;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin endpoint (loopback by default): queue listing and control for {@code mta queue},
 * health, and metrics. Plain JDK HTTP server: no framework needed for a handful of routes. Who may
 * call what is {@link AdminAccess}'s decision; a request must arrive within 10 s, and eight
 * workers keep {@code /health} answering while a few clients stall.
 *
 * <pre>
 * GET  /queue                      postqueue -j lines
 * GET  /queue?format=table         mailq table
 * GET  /queue/ID                   envelope, state and message
 * POST /queue/flush
 * POST /queue/ID|ALL/delete|hold|release|requeue
 * GET  /health                     200 or 503, JSON
 * GET  /metrics                    Prometheus text
 * </pre>
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    static {
        // The JDK server's own request deadline (read once, before the first server exists): a
        // client that sends its request slowly is cut off instead of holding a worker.
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", "10");
        }
        if (System.getProperty("sun.net.httpserver.clockTick") == null) {
            System.setProperty("sun.net.httpserver.clockTick", "1000");
        }
        // Past 64 KiB of headers the JDK drops the connection; up to that, guarded() answers 431 above 8 KiB.
        if (System.getProperty("sun.net.httpserver.maxReqHeaderSize") == null) {
            System.setProperty("sun.net.httpserver.maxReqHeaderSize", "65536");
        }
        if (System.getProperty("sun.net.httpserver.maxReqHeaders") == null) {
            System.setProperty("sun.net.httpserver.maxReqHeaders", "50");
        }
    }

    private final HttpServer server;
    private final QueueActions queue;
    private final AdminAccess access;

    public AdminServer(InetSocketAddress listen, QueueActions queue, AdminAccess access, Supplier<Health> health,
                       Supplier<String> metrics) throws IOException {
        this.queue = queue;
        this.access = access;
        this.server = HttpServer.create(listen, 64);
        server.setExecutor(Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "mta-admin");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/queue", guarded(true, this::handleQueue));
        server.createContext("/health", guarded(false, exchange -> {
            Health h = health.get();
            respond(exchange, h.ok() ? 200 : 503, "application/json", h.json());
        }));
        server.createContext("/metrics", guarded(false, exchange ->
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.get())));
        server.start();
    }

    /** Applies the access policy, and refuses request bodies (no route takes one). */
    private com.sun.net.httpserver.HttpHandler guarded(boolean control, com.sun.net.httpserver.HttpHandler handler) {
        return exchange -> {
            try {
                AdminAccess.Refusal refusal = access.check(exchange, control);
                if (refusal != null) {
                    if (control) {
                        log.warn("admin: refused {} {} from {}: {}", exchange.getRequestMethod(),
                                exchange.getRequestURI().getPath(), remote(exchange), refusal.error());
                    }
                    if (refusal.status() == 401) {
                        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"mta\"");
                    }
                    respond(exchange, refusal.status(), "application/json", "{\"error\": "
                            + org.relaymta.config.internal.Json.string(refusal.error()) + "}\n");
                    return;
                }
                if (headerBytes(exchange) > MAX_HEADER_BYTES) {
                    respond(exchange, 431, "application/json", "{\"error\": \"request headers too large\"}\n");
                    return;
                }
                String length = exchange.getRequestHeaders().getFirst("Content-Length");
                if ((length != null && !length.strip().equals("0"))
                        || exchange.getRequestHeaders().containsKey("Transfer-Encoding")) {
                    respond(exchange, 413, "application/json", "{\"error\": \"request bodies are not accepted\"}\n");
                    return;
                }
                handler.handle(exchange);
            } finally {
                exchange.close();
            }
        };
    }

    /** A handful of short headers is all an admin request needs. */
    private static final int MAX_HEADER_BYTES = 8192;

    private static int headerBytes(HttpExchange exchange) {
        int n = exchange.getRequestURI().toString().length();
        for (var e : exchange.getRequestHeaders().entrySet()) {
            for (String v : e.getValue()) {
                n += e.getKey().length() + v.length() + 4;
            }
        }
        return n;
    }

    private static String remote(HttpExchange exchange) {
        return exchange.getRemoteAddress() == null ? "unknown" : exchange.getRemoteAddress().getAddress().getHostAddress();
    }

    /** Health for {@code /health}: the body is a short JSON object. */
    public record Health(boolean ok, String json) {
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handleQueue(HttpExchange exchange) throws IOException {
        try {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            String[] parts = path.replaceAll("/+$", "").split("/");
            // parts: "", "queue", [id|flush], [action]
            if (parts.length == 2 && method.equals("GET")) {
                String query = Optional.ofNullable(exchange.getRequestURI().getQuery()).orElse("");
                boolean table = query.contains("format=table");
                exchange.getResponseHeaders().set("Content-Type", table ? "text/plain; charset=utf-8" : "application/x-ndjson");
                exchange.sendResponseHeaders(200, 0);
                // Streamed: a queue of 100,000 is never one string in memory.
                try (java.io.Writer out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(
                        exchange.getResponseBody(), StandardCharsets.UTF_8), 65536)) {
                    if (table) {
                        QueueJson.table(queue::forEach, out);
                    } else {
                        QueueJson.lines(queue::forEach, out);
                    }
                }
                return;
            }
            if (parts.length == 3 && parts[2].equals("flush") && method.equals("POST")) {
                int flushed = queue.flush();
                log.info("admin: flush from {}: {} message(s)", remote(exchange), flushed);
                respond(exchange, 200, "application/json", "{\"flushed\": " + flushed + "}\n");
                return;
            }
            if (parts.length == 3 && method.equals("GET")) {
                Optional<SpooledMessage> m = queue.message(parts[2]);
                if (m.isEmpty()) {
                    respond(exchange, 404, "text/plain; charset=utf-8", "message " + parts[2]
                            + " is not in the queue (delivered, bounced, deleted, or never queued)\n");
                    return;
                }
                exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                exchange.sendResponseHeaders(200, 0);
                try (OutputStream out = exchange.getResponseBody(); InputStream content = queue.content(m.get())) {
                    out.write(QueueJson.showHeader(m.get()).getBytes(StandardCharsets.UTF_8));
                    content.transferTo(out);
                }
                return;
            }
            if (parts.length == 4 && method.equals("POST")) {
                String id = parts[2];
                ActionResult result = switch (parts[3]) {
                    case "delete" -> queue.delete(id);
                    case "hold" -> queue.hold(id);
                    case "release" -> queue.release(id);
                    case "requeue" -> queue.requeue(id);
                    default -> null;
                };
                if (result == null) {
                    respond(exchange, 404, "text/plain; charset=utf-8", "unknown action " + parts[3] + "\n");
                } else {
                    log.info("admin: {} {} from {}: {} done, {} in delivery, {} not found", parts[3], id,
                            remote(exchange), result.done().size(),
                            result.inDelivery().size(), result.notFound().size());
                    // 404 when a named message is not queued, so the CLI can exit non-zero.
                    respond(exchange, result.notFound().isEmpty() ? 200 : 404, "application/json", result.json() + "\n");
                }
                return;
            }
            respond(exchange, 404, "text/plain; charset=utf-8", "unknown request " + method + " " + path + "\n");
        } catch (IOException | RuntimeException e) {
            log.error("admin: {} {} failed: {}", exchange.getRequestMethod(), exchange.getRequestURI(), e.toString());
            respond(exchange, 500, "text/plain; charset=utf-8", "error: " + e.getMessage() + "\n");
        }
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
