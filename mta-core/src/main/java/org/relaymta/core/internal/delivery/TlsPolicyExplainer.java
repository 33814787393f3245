package org.relaymta.core.internal.delivery;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Route;
import org.relaymta.config.internal.Router;
import org.relaymta.config.internal.TlsPolicies;
import org.relaymta.core.internal.sts.MtaSts;

/**
 * What TLS policy mail to a recipient domain's MX would be under, from the running relay's view
 * ({@code mta route --to}): the table entry, each MX with its addresses' DNSSEC status, the
 * requirements the destination policy step decides for it (DANE with the TLSA records found, an
 * MTA-STS policy and its age, or the level), asked through the same step delivery uses, without
 * counting anything in the TLS reports.
 */
final class TlsPolicyExplainer {
    private final RouteSelector routes;
    private final TablePolicy policy;
    private final MtaSts sts;
    private final int directPort;
    private final Clock clock;

    TlsPolicyExplainer(RouteSelector routes, TablePolicy policy, MtaSts sts, int directPort, Clock clock) {
        this.routes = routes;
        this.policy = policy;
        this.sts = sts;
        this.directPort = directPort;
        this.clock = clock;
    }

    CompletableFuture<JsonObject> explain(RelayConfig config, String domain) {
        JsonObject o = new JsonObject();
        o.addProperty("domain", domain);
        Route route = Router.route(config, "", "postmaster@" + domain);
        o.addProperty("route", route.direct() ? "direct" : "relay host " + route.nextHops().get(0).asWritten());
        if (!route.direct()) {
            o.addProperty("note", "mail to this domain goes to a relay host: its TLS is the relay host's (mta route shows it)");
            return CompletableFuture.completedFuture(o);
        }
        NextHop hop = NextHop.direct(domain, directPort);
        TlsPolicies.Policy entry = config.delivery().tls().policies().lookup(hop.host(), hop.port(), true).orElse(null);
        o.addProperty("table_entry", entry == null ? "none" : entry.level().postfixName() + " (" + entry.location() + ")");
        o.addProperty("smtp_tls_security_level", route.tlsLevel().postfixName());
        o.addProperty("smtp_dns_support_level", config.delivery().tls().dnssec() ? "dnssec" : "enabled");
        o.addProperty("smtp_mta_sts", config.delivery().tls().mtaSts() ? "yes" : "no");
        if (sts != null && config.delivery().tls().mtaSts()) {
            o.add("mta_sts", sts.cached(domain).map(p -> {
                JsonObject s = new JsonObject();
                s.addProperty("mode", p.mode().label());
                JsonArray mx = new JsonArray();
                p.mx().forEach(mx::add);
                s.add("mx", mx);
                s.addProperty("max_age", p.maxAge().toSeconds());
                s.addProperty("age", Duration.between(p.fetched(), clock.instant()).toSeconds());
                s.addProperty("id", p.id());
                return s;
            }).orElseGet(JsonObject::new));
        }
        DeliveryRequest request = new DeliveryRequest("route", "", List.of("postmaster@" + domain), 0, false,
                () -> new ByteArrayInputStream(new byte[0]), route, config);
        return routes.targets(hop).thenCompose(targets -> {
            List<CompletableFuture<JsonObject>> each = new ArrayList<>();
            for (Target t : targets) {
                each.add(policy.requirements(request, hop, t).handle((r, e) -> server(t, r, e)));
            }
            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(v -> {
                JsonArray servers = new JsonArray();
                each.forEach(f -> servers.add(f.join()));
                o.add("servers", servers);
                return o;
            });
        }).exceptionally(e -> {
            o.addProperty("error", "cannot resolve " + domain + ": " + SmtpConnection.describe(SmtpConnection.unwrap(e)));
            return o;
        });
    }

    private static JsonObject server(Target t, TlsRequirements r, Throwable e) {
        JsonObject s = new JsonObject();
        s.addProperty("server", t.relay());
        s.addProperty("dnssec", t.dnssec());
        if (e != null) {
            Throwable cause = SmtpConnection.unwrap(e);
            s.addProperty("decision", "deferred: " + cause.getMessage());
            return s;
        }
        s.addProperty("level", r.level().postfixName());
        s.addProperty("check", r.check().kind() == PeerCheck.Kind.NONE ? "none" : r.check().label());
        s.addProperty("mandatory", r.failureDefers());
        s.addProperty("source", r.source());
        if (!r.check().tlsa().isEmpty()) {
            JsonArray tlsa = new JsonArray();
            r.check().tlsa().forEach(x -> tlsa.add(x.toString()));
            s.add("tlsa", tlsa);
        }
        r.report().ifPresent(p -> s.addProperty("reported_as", p.type()));
        return s;
    }
}
