package org.relaymta.server.cli;

import com.google.gson.JsonElement;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
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

/** {@code mta route}: explain where mail from a sender goes, from the same inputs as {@code mta run}. */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = {"Explain the routing decision for a sender (and recipient): next hop, the rule that chose it, "
                + "credentials (user name only), TLS level. Reads the same variables and config directory as 'mta run'."})
final class RouteCommand implements Callable<Integer> {
    @Mixin
    ConfigDirOption configDir;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    /** The running relay, asked for its next hops' health (optional: the route is decided without it). */
    @Mixin
    AdminEndpoint endpoint;

    @Parameters(index = "0", paramLabel = "SENDER", description = "Envelope sender address, or <> for the null sender.")
    String sender;

    @Parameters(index = "1", arity = "0..1", paramLabel = "RECIPIENT", description = "Recipient address.")
    String recipient;

    @Override
    public Integer call() {
        RelayConfig config = configDir.load();
        if (config == null) {
            return 2;
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
