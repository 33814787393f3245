package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.relaymta.config.TlsLevel;

/**
 * Configuration that loads but can never do what it seems to: each finding names the file and line
 * and says why. {@code mta config check} lists them (exit 1), and the relay logs them at start and at
 * every reload, shows them in {@code /health} and counts them in {@code mta_config_warnings}. These
 * are the questions docker-mailserver's tracker keeps getting ("relay map has no effect",
 * "DEFAULT_RELAY_HOST not used").
 */
final class ConfigFindings {
    private ConfigFindings() {
    }

    static List<String> of(RelayConfig config, PostfixTable saslTable, Env env) {
        List<String> out = new ArrayList<>();
        Routing r = config.routing();
        Set<String> hops = relayHops(r);
        // Credentials keyed to a host or next hop that no route ever uses.
        for (PostfixTable.Entry e : saslTable.entries().values()) {
            String key = e.key().toLowerCase(Locale.ROOT);
            if (key.indexOf('@') >= 0 || key.equals("<>")) {
                continue;   // by sender: checked by credentialsForDirectRoutes
            }
            // Postfix looks credentials up by the server's host name, then by the next hop as written.
            if (!hops.contains(key)) {
                out.add(e.location() + ": credentials for " + e.key() + " are never used: no relay host, relay map entry "
                        + "or transport entry names that host or next hop (the key must match the next hop as written, "
                        + "e.g. [smtp.example.com]:587, or its host name)");
            }
        }
        // A transport entry for every recipient shadows the sender relay map and the relay host.
        Optional<TransportTable.Entry> star = r.transports().entries().stream().filter(t -> t.key().equals("*")
                && t.kind() != TransportTable.Kind.DEFAULT).findFirst();
        if (star.isPresent()) {
            for (PostfixTable.Entry e : r.senderRelayMap().entries().values()) {
                out.add(e.location() + ": relay map entry " + e.key() + " is never used: transport_maps * (" + star.get().location()
                        + ") routes every recipient first");
            }
            r.defaultRelayText().ifPresent(d -> out.add("DEFAULT_RELAY_HOST " + d + " is never used: transport_maps * ("
                    + star.get().location() + ") routes every recipient first"));
        }
        // A domain in both tables with different hops: mail from it and mail to it go different ways.
        for (TransportTable.Entry t : r.transports().entries()) {
            if (t.key().startsWith(".") || t.key().contains("@") || t.key().equals("*") || t.kind() != TransportTable.Kind.SMTP) {
                continue;
            }
            r.senderRelayMap().lookup("@" + t.key()).filter(e -> !e.value().isEmpty() && !e.value().equalsIgnoreCase("DUNNO"))
                    .ifPresent(e -> {
                        String mapHops = String.join(", ", NextHop.parseList(e.value(), e.location()).stream()
                                .map(NextHop::asWritten).toList());
                        String transportHops = t.hops().isEmpty() ? "its MX"
                                : String.join(", ", t.hops().stream().map(NextHop::asWritten).toList());
                        if (!mapHops.equals(transportHops)) {
                            out.add(t.location() + ": " + t.key() + " is in both tables with different hops: mail from @"
                                    + t.key() + " goes to " + mapHops + " (" + e.location() + "), mail to " + t.key()
                                    + " goes to " + transportHops + " (the transport entry wins for mail to it)");
                        }
                    });
        }
        // An opt-out where docker-mailserver would not honour it.
        if (!r.defaultRelay().isEmpty()) {
            for (PostfixTable.Entry e : r.senderRelayMap().entries().values()) {
                if (e.value().isEmpty()) {
                    out.add(e.location() + ": " + e.key() + " is excluded while DEFAULT_RELAY_HOST is set: docker-mailserver "
                            + "ignores this opt-out, this relay honours it (mail from " + e.key() + " goes to the recipients' MX)");
                }
            }
        }
        // Credentials sent where TLS is off.
        if (r.saslEnabled() && r.tlsLevel() == TlsLevel.NONE && !r.credentials().isEmpty()) {
            out.add("smtp_tls_security_level = none with relay credentials configured: passwords would cross the network in "
                    + "plain text (use encrypt)");
        }
        if (env.get("RELAY_HOST").filter(s -> !s.isBlank()).isPresent()
                && env.get("DEFAULT_RELAY_HOST").filter(s -> !s.isBlank()).isPresent()) {
            out.add("RELAY_HOST and DEFAULT_RELAY_HOST are both set: RELAY_HOST routes the local sender domains, "
                    + "DEFAULT_RELAY_HOST the rest; set one (DEFAULT_RELAY_HOST is docker-mailserver's current variable)");
        }
        Set<String> named = new HashSet<>();
        r.credentials().values().forEach(c -> c.oauth2Profile().ifPresent(named::add));
        for (String p : r.oauth2Profiles().keySet()) {
            if (!named.contains(p)) {
                out.add(OAuth2Profiles.FILE + ": OAuth2 profile " + p + " is never used: no credentials name {oauth2}" + p);
            }
        }
        return out;
    }

    /** Every relay next hop as written and its host, lower case. */
    private static Set<String> relayHops(Routing r) {
        Set<String> out = new HashSet<>();
        List<NextHop> all = new ArrayList<>(r.defaultRelay());
        all.addAll(r.fallbackRelay());
        r.implicitRelayDomains().values().forEach(all::addAll);
        for (PostfixTable.Entry e : r.senderRelayMap().entries().values()) {
            if (!e.value().isEmpty() && !e.value().equalsIgnoreCase("DUNNO")) {
                all.addAll(NextHop.parseList(e.value(), e.location()));
            }
        }
        r.transports().entries().forEach(t -> all.addAll(t.hops()));
        r.defaultRelayText().ifPresent(t -> out.add(t.toLowerCase(Locale.ROOT)));
        for (NextHop h : all) {
            out.add(h.asWritten().toLowerCase(Locale.ROOT));
            out.add(h.host());   // the server's host name (of a bracketed hop; an MX hop's servers are not known here)
        }
        return out;
    }
}
