package org.relaymta.server.admin;

import io.netty.channel.Channel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RouteReport;
import org.relaymta.core.internal.queue.QueueActions;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.queue.Suppression;
import org.relaymta.core.internal.shaping.ShapingAction;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.queue.SuppressionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each admin request means: exact paths and methods only (a path is matched as sent, never
 * decoded or normalised, so {@code /healthz} or {@code /health/../queue} is no route), the access
 * check, and the work on a worker pool. Answers never repeat what the request said.
 *
 * <pre>
 * GET  /                           the dashboard (HTML, with /dashboard.js and /dashboard.css)   (open)
 * GET  /health                     200 or 503, JSON           (open)
 * GET  /metrics                    Prometheus text            (open)
 * GET  /queue                      postqueue -j lines         (token)
 * GET  /queue?format=table         mailq table
 * GET  /queue/ID                   envelope, state and message
 * POST /queue/flush
 * POST /queue/ID|ALL/delete|hold|release|requeue
 * GET  /tls-policy/DOMAIN          the TLS policy of mail to DOMAIN's MX, JSON (token: it asks DNS and HTTPS)
 * GET  /route?from=S&amp;to=R[&amp;format=json]  the routing decision for S and R under the configuration in force
 * GET  /suppressions[?format=table] the suppression list, one JSON object per line
 * POST /suppressions/add?address=A[&amp;reason=R]   suppress A
 * POST /suppressions/remove?address=A   end A's suppression (404 when it was not suppressed)
 * GET  /shaping[?format=table]     the shaping actions in force, one JSON object per line
 * POST /shaping/clear[?destination=D]   lift D's action (every action without D; 404 when none was lifted)
 * GET  /cluster                    spool takeover: this node, its generation, adopted spools, every lease (404 when off)
 * POST /cluster/handback?spool=S   the node running S hands it back to its returning owner at once
 * </pre>
 * A known path with another method gets {@code 405} and {@code Allow}; anything else {@code 404}.
 *
 * <p>Over 400 lines because it is the one table of every route with its method and access rule;
 * each route's own work is a few lines or lives elsewhere (QueueJson, ShapingJson, RouteReport).
 */
final class AdminRequests {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final Pattern ID = Pattern.compile("[0-9A-Za-z]{1,64}");
    private static final Pattern DOMAIN = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,62}\\.){1,10}[A-Za-z0-9-]{1,63}");

    private final QueueActions queue;
    private final AdminAccess access;
    private final Supplier<AdminServer.Health> health;
    private final Supplier<String> metrics;
    private final Executor probes;
    private final Executor queueWork;
    private final Function<String, CompletableFuture<String>> tlsPolicy;
    private final Supplier<RelayConfig> config;
    private final SuppressionList suppressions;
    private final Shaper shaper;
    private final AdminServer.ClusterView cluster;

    AdminRequests(QueueActions queue, AdminAccess access, Supplier<AdminServer.Health> health, Supplier<String> metrics,
                  Executor probes, Executor queueWork, Function<String, CompletableFuture<String>> tlsPolicy,
                  Supplier<RelayConfig> config, SuppressionList suppressions, Shaper shaper, AdminServer.ClusterView cluster) {
        this.cluster = cluster;
        this.suppressions = suppressions;
        this.shaper = shaper;
        this.config = config;
        this.tlsPolicy = tlsPolicy;
        this.queue = queue;
        this.access = access;
        this.health = health;
        this.metrics = metrics;
        this.probes = probes;
        this.queueWork = queueWork;
    }

    /** One route: the method it takes, whether it needs the token, and what it does (on a worker). */
    private record Route(HttpMethod method, boolean control, Work work) {
    }

    private interface Work {
        void run(Channel ch, String query) throws IOException;
    }

    /** The route a raw path names, or null. */
    private Route route(String path) {
        switch (path) {
            case "/", "/dashboard.js", "/dashboard.css":
                return new Route(HttpMethod.GET, false, (ch, q) -> {
                    String name = path.equals("/") ? "dashboard.html" : path.substring(1);
                    String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                            : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
                    AdminResponses.send(ch, HttpResponseStatus.OK, type, Dashboard.resource(name));
                });
            case "/health":
                return new Route(HttpMethod.GET, false, (ch, q) -> {
                    AdminServer.Health h = health.get();
                    AdminResponses.send(ch, h.ok() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                            "application/json", h.json());
                });
            case "/metrics":
                return new Route(HttpMethod.GET, false, (ch, q) ->
                        AdminResponses.send(ch, HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.get()));
            case "/queue":
                return new Route(HttpMethod.GET, true, this::list);
            case "/route":
                return new Route(HttpMethod.GET, true, this::route);
            case "/suppressions":
                return new Route(HttpMethod.GET, true, (ch, q) -> AdminResponses.send(ch, HttpResponseStatus.OK,
                        q.contains("format=table") ? "text/plain; charset=utf-8" : "application/x-ndjson",
                        q.contains("format=table") ? SuppressionJson.table(suppressions.list())
                                : SuppressionJson.lines(suppressions.list())));
            case "/shaping":
                return new Route(HttpMethod.GET, true, (ch, q) -> {
                    List<ShapingAction> actions = shaper == null ? List.of() : shaper.list();
                    boolean table = q.contains("format=table");
                    AdminResponses.send(ch, HttpResponseStatus.OK, table ? "text/plain; charset=utf-8" : "application/x-ndjson",
                            table ? ShapingJson.table(actions) : ShapingJson.lines(actions));
                });
            case "/cluster":
                return new Route(HttpMethod.GET, true, (ch, q) -> {
                    if (cluster == null) {
                        AdminResponses.error(ch, HttpResponseStatus.NOT_FOUND, "spool takeover is off (MTA_SPOOL_TAKEOVER)");
                        return;
                    }
                    AdminResponses.send(ch, HttpResponseStatus.OK, "application/json", cluster.status() + "\n");
                });
            case "/cluster/handback":
                return new Route(HttpMethod.POST, true, this::handBack);
            case "/shaping/clear":
                return new Route(HttpMethod.POST, true, this::clearShaping);
            case "/suppressions/add", "/suppressions/remove":
                return new Route(HttpMethod.POST, true, (ch, q) -> suppress(ch, q, path.endsWith("/add")));
            case "/queue/flush":
                return new Route(HttpMethod.POST, true, (ch, q) -> {
                    int flushed = queue.flush();
                    log.info("admin: flush from {}: {} message(s)", remote(ch), flushed);
                    AdminResponses.send(ch, HttpResponseStatus.OK, "application/json", "{\"flushed\": " + flushed + "}\n");
                });
            default:
                break;
        }
        String[] parts = path.split("/", -1);   // "", "queue", id[, action]
        if (parts.length == 3 && parts[1].equals("tls-policy") && DOMAIN.matcher(parts[2]).matches()) {
            return new Route(HttpMethod.GET, true, (ch, q) -> {
                String json;
                try {
                    json = tlsPolicy.apply(parts[2].toLowerCase(Locale.ROOT)).get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    AdminResponses.error(ch, HttpResponseStatus.SERVICE_UNAVAILABLE, "the TLS policy could not be had");
                    return;
                }
                AdminResponses.send(ch, HttpResponseStatus.OK, "application/json", json + "\n");
            });
        }
        if (parts.length == 3 && parts[1].equals("queue") && ID.matcher(parts[2]).matches()) {
            return new Route(HttpMethod.GET, true, (ch, q) -> show(ch, parts[2]));
        }
        Optional<QueueAction> action = parts.length == 4 ? QueueAction.named(parts[3]) : Optional.empty();
        if (action.isPresent() && parts[1].equals("queue") && ID.matcher(parts[2]).matches()) {
            return new Route(HttpMethod.POST, true, (ch, q) -> act(ch, parts[2], action.get()));
        }
        return null;
    }

    void handle(Channel ch, HttpRequest request) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            boolean tooLong = cause instanceof TooLongFrameException;
            boolean line = tooLong && String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT).contains("line");
            AdminResponses.error(ch, !tooLong ? HttpResponseStatus.BAD_REQUEST : line ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, tooLong ? (line ? "request line too long"
                    : "request headers too large") : "malformed request");
            return;
        }
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q + 1);
        Route route = route(path);
        if (route == null) {
            AdminResponses.error(ch, HttpResponseStatus.NOT_FOUND, "no such path");
            return;
        }
        if (!route.method().equals(request.method())) {
            AdminResponses.error(ch, HttpResponseStatus.METHOD_NOT_ALLOWED, "this path takes " + route.method().name() + " only",
                    route.method().name());
            return;
        }
        AdminAccess.Refusal refusal = access.check(request.headers(), route.control());
        if (refusal != null) {
            if (route.control()) {
                log.warn("admin: refused {} {} from {}: {}", request.method().name(), path, remote(ch), refusal.error());
            }
            AdminResponses.error(ch, HttpResponseStatus.valueOf(refusal.status()), refusal.error());
            return;
        }
        long length;
        try {
            length = HttpUtil.getContentLength(request, 0L);
        } catch (NumberFormatException e) {
            AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "malformed Content-Length");
            return;
        }
        if (length != 0 || request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            AdminResponses.error(ch, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request bodies are not accepted");
            return;
        }
        try {
            (route.control() ? queueWork : probes).execute(() -> {
                try {
                    route.work().run(ch, query);
                } catch (IOException | RuntimeException e) {
                    log.error("admin: {} {} failed: {}", request.method().name(), path, e.toString());
                    if (ch.isActive()) {
                        AdminResponses.error(ch, HttpResponseStatus.INTERNAL_SERVER_ERROR, "the request failed; see the relay's log");
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            AdminResponses.error(ch, HttpResponseStatus.SERVICE_UNAVAILABLE, "the relay is stopping");
        }
    }

    private void suppress(Channel ch, String query, boolean add) {
        Map<String, String> q = queryParameters(query);
        String address = q.get("address");
        if (address == null || address.isBlank()) {
            AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "address= is required");
            return;
        }
        if (add) {
            Suppression s;
            try {
                s = suppressions.add(address, q.getOrDefault("reason", "operator"));
            } catch (IllegalArgumentException e) {
                AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "address= is not an email address");
                return;
            }
            log.info("admin: suppressed <{}> from {}", s.address(), remote(ch));
            AdminResponses.send(ch, HttpResponseStatus.OK, "application/json", SuppressionJson.lines(List.of(s)));
            return;
        }
        boolean was = suppressions.remove(address);
        log.info("admin: suppression of <{}> removed from {}: {}", LogText.escape(address), remote(ch), was ? "done" : "was not suppressed");
        AdminResponses.send(ch, was ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND, "application/json",
                "{\"removed\": " + was + "}\n");
    }

    private void handBack(Channel ch, String query) {
        String spool = queryParameters(query).get("spool");
        if (cluster == null) {
            AdminResponses.error(ch, HttpResponseStatus.NOT_FOUND, "spool takeover is off (MTA_SPOOL_TAKEOVER)");
            return;
        }
        if (spool == null || !spool.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "spool= is required: a node name as MTA_NODE_ID gives it");
            return;
        }
        try {
            cluster.handBack(spool);
        } catch (Exception e) {
            AdminResponses.error(ch, HttpResponseStatus.SERVICE_UNAVAILABLE, "Redis does not answer; nothing was changed");
            return;
        }
        log.info("admin: hand-back of spool {} asked from {}", spool, remote(ch));
        AdminResponses.send(ch, HttpResponseStatus.OK, "application/json", "{\"handback\": \"" + spool + "\"}\n");
    }

    private void clearShaping(Channel ch, String query) {
        String destination = queryParameters(query).get("destination");
        List<ShapingAction> lifted = shaper == null ? List.of() : shaper.clear(destination);
        log.info("admin: shaping cleared from {} for {}: {} action(s) lifted", remote(ch),
                destination == null ? "every destination" : LogText.escape(destination), lifted.size());
        AdminResponses.send(ch, destination != null && lifted.isEmpty() ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.OK,
                "application/x-ndjson", lifted.isEmpty() ? "{\"lifted\": 0}\n" : ShapingJson.lines(lifted));
    }

    private static Map<String, String> queryParameters(String query) {
        Map<String, String> q = new HashMap<>();
        for (String part : query.split("&")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                q.put(part.substring(0, eq), URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }

    /** The routing decision as the running relay makes it: from= and to= (URL-encoded), format=json for JSON. */
    private void route(Channel ch, String query) {
        Map<String, String> q = queryParameters(query);
        if (!q.containsKey("from")) {
            AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "from= is required");
            return;
        }
        try {
            RouteReport r = RouteReport.explain(config.get(), q.get("from"), q.get("to"));
            boolean json = "json".equals(q.get("format"));
            List<ShapingAction> shaping = shapingOf(r.route());
            String body;
            if (json) {
                com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(r.toJson()).getAsJsonObject();
                com.google.gson.JsonArray a = new com.google.gson.JsonArray();
                shaping.forEach(x -> a.add(ShapingJson.object(x)));
                o.add("shaping", a);
                body = org.relaymta.config.internal.Json.write(o);
            } else {
                StringBuilder sb = new StringBuilder(r.toText());
                for (ShapingAction x : shaping) {
                    sb.append("\nshaping: ").append(x.destination()).append(' ').append(x.describe())
                            .append(" (relay-shaping.cf rule ").append(x.rule()).append(')');
                }
                body = sb.toString();
            }
            AdminResponses.send(ch, HttpResponseStatus.OK, json ? "application/json" : "text/plain; charset=utf-8", body + "\n");
        } catch (IllegalArgumentException e) {
            AdminResponses.error(ch, HttpResponseStatus.BAD_REQUEST, "not an address: from= and to= take email addresses");
        }
    }

    /** The shaping actions mail on {@code route} would meet: its relay host, or its domain's MX as seen before. */
    private List<ShapingAction> shapingOf(org.relaymta.config.internal.Route route) {
        if (shaper == null || route == null) {
            return List.of();
        }
        if (route.direct()) {
            return shaper.affecting(null, null, route.directDomain().orElse(null));
        }
        if (route.nextHops().isEmpty()) {
            return List.of();
        }
        return shaper.affecting(route.nextHops().get(0).host(), route.nextHops().get(0).asWritten(), null);
    }

    private void list(Channel ch, String query) throws IOException {
        boolean table = Arrays.asList(query.split("&")).contains("format=table");
        // Streamed: a queue of 100,000 is never one string in memory.
        try (Writer out = new OutputStreamWriter(AdminResponses.stream(ch, table ? "text/plain; charset=utf-8"
                : "application/x-ndjson"), StandardCharsets.UTF_8)) {
            if (table) {
                QueueJson.table(queue::forEach, out);
            } else {
                QueueJson.lines(queue::forEach, out);
            }
        }
    }

    private void show(Channel ch, String id) throws IOException {
        Optional<SpooledMessage> m = queue.message(id);
        if (m.isEmpty()) {
            AdminResponses.send(ch, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", "message " + id
                    + " is not in the queue (delivered, bounced, deleted, or never queued)\n");
            return;
        }
        try (OutputStream out = AdminResponses.stream(ch, "text/plain; charset=utf-8"); InputStream content = queue.content(m.get())) {
            out.write(QueueJson.showHeader(m.get()).getBytes(StandardCharsets.UTF_8));
            content.transferTo(out);
        }
    }

    private void act(Channel ch, String id, QueueAction action) throws IOException {
        ActionResult result = queue.apply(action, id);
        log.info("admin: {} {} from {}: {} done, {} in delivery, {} not found", action.label(), id, remote(ch), result.done().size(),
                result.inDelivery().size(), result.notFound().size());
        // 404 when a named message is not queued, so the CLI can exit non-zero.
        AdminResponses.send(ch, result.notFound().isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
                "application/json", result.json() + "\n");
    }

    private static String remote(Channel ch) {
        return ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null ? a.getAddress().getHostAddress()
                : "unknown";
    }
}
