package org.relaymta.server.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.RouteReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mta route}: explain where mail from a sender (to a recipient) goes, step by step: from the
 * running relay's view when one answers at the admin endpoint (its configuration in force, reloads
 * included), else from the same variables and config directory as {@code mta run}; it says which.
 */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = {"Explain the routing decision for a sender (and recipient) step by step: each table asked and what "
                + "matched where, next hop and pool, credentials (user name only), TLS level and the TLS policy.",
                "Asks the running relay (its configuration in force) when one answers at the admin endpoint; else reads the "
                        + "same variables and config directory as 'mta run'. --files always reads the files."})
final class RouteCommand implements Callable<Integer> {
    @Mixin
    ConfigDirOption configDir;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--files", description = "Decide from the files and variables here, even when a relay runs.")
    boolean files;

    /** The running relay, asked for its next hops' health (optional: the route is decided without it). */
    @Mixin
    AdminEndpoint endpoint;

    @Parameters(index = "0", paramLabel = "SENDER", description = "Envelope sender address, or <> for the null sender.")
    String sender;

    @Parameters(index = "1", arity = "0..1", paramLabel = "RECIPIENT", description = "Recipient address.")
    String recipient;

    @Override
    public Integer call() {
        if (!files) {
            Integer fromRelay = fromRunningRelay();
            if (fromRelay != null) {
                return fromRelay;
            }
        }
        RelayConfig config = configDir.load();
        if (config == null) {
            return 2;
        }
        if (!json) {
            System.out.println("(from the files and variables here" + (files ? ")" : "; no relay answered at the admin endpoint)"));
        }
        RouteReport report;
        try {
            report = RouteReport.explain(config, sender, recipient);
        } catch (IllegalArgumentException e) {
            System.err.println("mta route: " + e.getMessage());
            return 2;
        }
        for (String warning : config.warnings()) {
            System.err.println("mta: warning: " + warning);
        }
        System.out.println(json ? report.toJson() : report.toText());
        if (!json) {
            printLimitsAndHealth(config, report);
            if (recipient != null && report.route().direct()) {
                printTlsPolicy(config, recipient.substring(recipient.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT));
            }
        }
        return 0;
    }

    /**
     * The TLS policy of mail to the recipient's MX as the running relay would apply it (table entry,
     * each MX with DNSSEC status and the decision: DANE and its TLSA records, MTA-STS and the policy's
     * age, or the level); from the files alone when no relay answers.
     */
    private void printTlsPolicy(RelayConfig config, String domain) {
        String answer = null;
        try {
            answer = endpoint.call("GET", "/tls-policy/" + domain).filter(r -> r.statusCode() == 200)
                    .map(HttpResponse::body).orElse(null);
        } catch (IOException | RuntimeException e) {
            answer = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (answer == null && config == null) {
            return;
        }
        if (answer == null) {
            String entry = config.delivery().tls().policies().lookup(domain, 25, true)
                    .map(p -> p.level().postfixName() + " (" + p.location() + ")").orElse("none");
            System.out.println("tls policy for " + domain + " (from the files; DANE and MTA-STS are looked up by the running "
                    + "relay, which did not answer): table entry " + entry);
            return;
        }
        JsonObject o = Json.object(answer);
        StringBuilder sb = new StringBuilder("tls policy for " + domain + " (from the running relay): table entry "
                + text(o, "table_entry") + ", smtp_tls_security_level " + text(o, "smtp_tls_security_level")
                + ", smtp_dns_support_level " + text(o, "smtp_dns_support_level"));
        JsonElement sts = o.get("mta_sts");
        if (sts != null && sts.isJsonObject() && sts.getAsJsonObject().has("mode")) {
            JsonObject s = sts.getAsJsonObject();
            sb.append(", MTA-STS ").append(text(s, "mode")).append(" (mx ").append(s.get("mx")).append(", max_age ")
                    .append(text(s, "max_age")).append(" s, fetched ").append(text(s, "age")).append(" s ago, id ")
                    .append(text(s, "id")).append(')');
        } else if (sts != null) {
            sb.append(", MTA-STS none known");
        }
        System.out.println(sb);
        if (o.has("error")) {
            System.out.println("  " + text(o, "error"));
        }
        JsonElement servers = o.get("servers");
        if (servers != null && servers.isJsonArray()) {
            for (JsonElement e : servers.getAsJsonArray()) {
                JsonObject s = e.getAsJsonObject();
                StringBuilder line = new StringBuilder("  " + text(s, "server") + " (DNSSEC " + (s.get("dnssec").getAsBoolean()
                        ? "validated" : "not validated") + "): ");
                if (s.has("decision")) {
                    line.append(text(s, "decision"));
                } else {
                    line.append(text(s, "level")).append(", check ").append(text(s, "check"))
                            .append(s.get("mandatory").getAsBoolean() ? ", mandatory" : ", opportunistic")
                            .append(" [").append(text(s, "source")).append(']');
                    if (s.has("tlsa")) {
                        line.append(" TLSA ").append(s.get("tlsa"));
                    }
                }
                System.out.println(line);
            }
        }
    }

    private static String text(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? "?" : e.isJsonPrimitive() ? e.getAsString() : e.toString();
    }

    /** The decision of the running relay ({@code GET /route}); null when none answers. */
    private Integer fromRunningRelay() {
        String q = "/route?from=" + URLEncoder.encode(sender, StandardCharsets.UTF_8)
                + (recipient == null ? "" : "&to=" + URLEncoder.encode(recipient, StandardCharsets.UTF_8))
                + (json ? "&format=json" : "");
        Optional<HttpResponse<String>> r;
        try {
            r = endpoint.call("GET", q);
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        if (r.isEmpty() || r.get().statusCode() == 404 || r.get().statusCode() == 401 || r.get().statusCode() == 403) {
            return null;   // no relay, an older one, or no token here: the files decide
        }
        if (r.get().statusCode() == 400) {
            System.err.println("mta route: " + (recipient == null ? "sender" : "sender or recipient") + " is not an email address");
            return 2;
        }
        if (r.get().statusCode() != 200) {
            return null;
        }
        if (!json) {
            System.out.println("(from the running relay: its configuration in force)");
        }
        System.out.print(r.get().body());
        if (!json) {
            RelayConfig local = configDir.loadQuietly();
            if (local != null) {
                try {
                    // The quotas of relay-limits.cf and each hop's breaker as the relay's /health has it.
                    printLimitsAndHealth(local, RouteReport.explain(local, sender, recipient));
                } catch (IllegalArgumentException notAnAddress) {
                    // the relay accepted it; nothing more to add
                }
            }
            if (recipient != null && r.get().body().contains("next hop:    MX of ")) {
                printTlsPolicy(null, recipient.substring(recipient.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT));
            }
        }
        return 0;
    }

    /** The relay-limits.cf entries that apply, and each relay next hop's circuit breaker as the running relay has it. */
    private void printLimitsAndHealth(RelayConfig config, RouteReport report) {
        if (report.route().direct()) {
            return;
        }
        List<String> hops = report.route().nextHops().stream().map(h -> h.asWritten()).toList();
        String account = report.credentials().map(Credentials::username).orElse(null);
        for (RelayLimits.Limit l : config.delivery().limits().applicable(hops, account)) {
            System.out.println("quota: " + l.key() + " (" + l.location() + ")");
        }
        String health = relayHealth();
        for (String hop : hops) {
            String state = health == null ? "unknown (no relay answered at the admin endpoint)" : stateOf(health, hop);
            System.out.println("next hop " + hop + ": " + state);
        }
    }

    private String relayHealth() {
        try {
            return endpoint.call("GET", "/health").filter(r -> r.statusCode() == 200 || r.statusCode() == 503)
                    .map(HttpResponse::body).orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The hop's state in the relay's /health JSON ("relay_hops"): closed unless it was seen failing. */
    static String stateOf(String healthJson, String hop) {
        String state = "closed";
        try {
            JsonElement hops = Json.object(healthJson).get("relay_hops");
            if (hops != null && hops.isJsonObject()) {
                JsonElement s = hops.getAsJsonObject().get(hop.toLowerCase(Locale.ROOT));
                state = s == null || !s.isJsonPrimitive() ? "closed" : s.getAsString();
            }
        } catch (IllegalArgumentException notJson) {
            return "unknown (the admin endpoint's answer is not JSON)";
        }
        return switch (state) {
            case "open" -> "open (circuit breaker: no connection until its probe)";
            case "half-open" -> "half-open (a probe is running)";
            default -> "closed (healthy)";
        };
    }
}
