package org.relaymta.config.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The explanation {@code mta route} prints: which rule picked the next hop, the credentials'
 * user name and key (never the password), TLS level and wrapper mode.
 */
public record RouteReport(String sender, Optional<String> recipient, Route route, Optional<Credentials> credentials,
                          boolean mxLookup, boolean wrapperMode, List<String> steps) {

    /** Validates the addresses and routes them; a sender that is not an address is an {@link IllegalArgumentException}. */
    public static RouteReport explain(RelayConfig config, String sender, String recipient) {
        String s = normalizeSender(sender);
        Optional<String> r = Optional.ofNullable(recipient).map(RouteReport::normalizeRecipient);
        Route route = Router.route(config, s, r.orElse(""));
        Optional<Credentials> credentials;
        boolean mx;
        boolean wrapper = config.routing().wrapperMode();
        if (route.direct()) {
            mx = true;
            credentials = Optional.empty();   // never sent to a recipient's MX
        } else {
            NextHop first = route.nextHops().get(0);
            mx = first.mxLookup();
            credentials = route.credentialsFor(first.host(), first);
            wrapper |= first.port() == 465;
        }
        return new RouteReport(s, r, route, credentials, mx, wrapper, steps(config, s, r, route));
    }

    /** The decision step by step: each table asked, what matched where, what was skipped and why. */
    static List<String> steps(RelayConfig config, String sender, Optional<String> recipient, Route route) {
        List<String> out = new ArrayList<>();
        TransportTable transports = config.routing().transports();
        if (transports.isEmpty()) {
            out.add("transport_maps: no entries");
        } else if (recipient.isEmpty()) {
            out.add("transport_maps: not asked (no recipient given)");
        } else {
            Optional<TransportTable.Entry> t = transports.lookup(recipient.get());
            if (t.isEmpty()) {
                out.add("transport_maps: no entry for " + recipient.get() + " (tried " + String.join(", ",
                        TransportTable.keys(recipient.get())) + ")");
            } else if (t.get().kind() == TransportTable.Kind.DEFAULT) {
                out.add("transport_maps: " + t.get().key() + " (" + t.get().location() + ") says ':': the usual route");
            } else {
                out.add("transport_maps: " + t.get().key() + " (" + t.get().location() + ") decides: " + describe(t.get()));
            }
        }
        boolean byTransport = route.source() == Route.Source.TRANSPORT;
        if (byTransport) {
            out.add("sender relay map: not asked (the transport entry decided)");
        } else {
            List<String> keys = Router.senderLookupKeys(sender);
            Optional<PostfixTable.Entry> hit = Optional.empty();
            for (String k : keys) {
                hit = config.routing().senderRelayMap().lookup(k);
                if (hit.isPresent()) {
                    break;
                }
            }
            if (hit.isPresent()) {
                String v = hit.get().value();
                out.add("sender relay map: " + hit.get().key() + " (" + hit.get().location() + ") -> "
                        + (v.isEmpty() ? "opt-out (direct delivery)" : v.equalsIgnoreCase("DUNNO") ? "DUNNO (the default)" : v));
            } else {
                out.add("sender relay map: no entry for " + String.join(", ", keys));
            }
            if (route.source() == Route.Source.SENDER_MAP && hit.isEmpty()) {
                out.add("RELAY_HOST: the local sender domain " + route.mapKey().orElse("?") + " goes to " + route.nextHops());
            }
            if (route.source() == Route.Source.DEFAULT_RELAY) {
                out.add("default relay host: " + config.routing().defaultRelayText().orElse(route.nextHops().toString()));
            } else if (route.source() == Route.Source.DIRECT) {
                out.add("default relay host: none, so the recipient's MX");
            } else if (!config.routing().defaultRelay().isEmpty()) {
                out.add("default relay host: not used (" + config.routing().defaultRelayText().orElse("") + ")");
            }
        }
        if (NextHop.balanced(route.nextHops())) {
            out.add("pool: balance, new mail by weight (" + String.join(", ", route.nextHops().stream()
                    .map(h -> h.asWritten() + " weight " + h.weight()).toList()) + "), the others as failover; a hop whose "
                    + "circuit breaker is open is skipped");
        } else if (route.nextHops().size() > 1) {
            out.add("pool: failover, in this order: " + String.join(", ", route.nextHops().stream().map(NextHop::asWritten)
                    .toList()));
        }
        return List.copyOf(out);
    }

    /** A transport entry in words. */
    public static String describe(TransportTable.Entry t) {
        return switch (t.kind()) {
            case SMTP -> t.hops().isEmpty() ? "smtp to the recipient domain's MX"
                    : "smtp to " + String.join(", ", t.hops().stream().map(NextHop::asWritten).toList());
            case ERROR -> "bounce (" + t.dsn() + " " + t.text() + ")";
            case RETRY -> "defer (" + t.dsn() + " " + t.text() + ")";
            case DISCARD -> "discard (" + t.text() + ")";
            case DEFAULT -> "the usual route";
        };
    }

    static String normalizeSender(String sender) {
        String s = sender == null ? "" : sender.strip();
        if (s.equals("<>") || s.isEmpty()) {
            return "";
        }
        if (s.startsWith("<") && s.endsWith(">")) {
            s = s.substring(1, s.length() - 1);
        }
        if (!isAddress(s)) {
            throw new IllegalArgumentException("sender '" + sender + "' is not an email address (use <> for the null sender)");
        }
        return s;
    }

    static String normalizeRecipient(String recipient) {
        String s = recipient.strip();
        if (s.startsWith("<") && s.endsWith(">")) {
            s = s.substring(1, s.length() - 1);
        }
        if (!isAddress(s)) {
            throw new IllegalArgumentException("recipient '" + recipient + "' is not an email address");
        }
        return s;
    }

    private static boolean isAddress(String s) {
        return Mailbox.valid(s);
    }

    public String toJson() {
        JsonObject o = Json.object();
        o.addProperty("sender", sender.isEmpty() ? "<>" : sender);
        o.addProperty("recipient", recipient.orElse(null));
        o.addProperty("source", route.source().jsonName());
        o.addProperty("map_key", route.mapKey().orElse(null));
        JsonArray hops = new JsonArray();
        route.nextHops().forEach(h -> hops.add(h.asWritten()));
        o.add("nexthops", hops);
        o.addProperty("mx_lookup", mxLookup);
        o.add("credentials", credentials.<JsonElement>map(c -> {
            JsonObject cred = Json.object();
            cred.addProperty("username", c.username());
            cred.addProperty("key", c.key());
            cred.addProperty("auth", authKind(c));
            return cred;
        }).orElse(JsonNull.INSTANCE));
        o.addProperty("tls_level", route.tlsLevel().postfixName());
        o.addProperty("wrapper_mode", wrapperMode);
        route.action().ifPresent(a -> o.addProperty("action", describe(a)));
        if (NextHop.balanced(route.nextHops())) {
            o.addProperty("pool", "balance");
        }
        JsonArray s = new JsonArray();
        steps.forEach(s::add);
        o.add("steps", s);
        return Json.write(o);
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("sender:      ").append(sender.isEmpty() ? "<>" : sender).append('\n');
        recipient.ifPresent(r -> sb.append("recipient:   ").append(r).append('\n'));
        String why = switch (route.source()) {
            case TRANSPORT -> "transport_maps, key " + route.mapKey().orElse("?") + route.transport()
                    .map(t -> " (" + t.location() + ")").orElse("");
            case SENDER_MAP -> "sender-dependent relay map, key " + route.mapKey().orElse("?");
            case DEFAULT_RELAY -> "default relay host";
            case OPT_OUT -> "opted out in the relay map (key " + route.mapKey().orElse("?") + "): direct delivery";
            case DIRECT -> "no relay host configured: direct delivery";
        };
        sb.append("decided by:  ").append(why).append('\n');
        for (String step : steps) {
            sb.append("  step:      ").append(step).append('\n');
        }
        if (route.action().isPresent()) {
            sb.append("action:      ").append(describe(route.action().get())).append('\n');
        } else if (route.direct()) {
            sb.append("next hop:    MX of ").append(recipient.map(Router::domainOf).filter(d -> !d.isEmpty())
                    .orElse("the recipient's domain")).append('\n');
        } else {
            sb.append("next hop:    ").append(String.join(", ", route.nextHops().stream().map(NextHop::asWritten).toList()))
                    .append(mxLookup ? " (MX lookup)" : " (no MX lookup: A/AAAA only)").append('\n');
        }
        sb.append("credentials: ").append(credentials.map(c -> c.username() + " (key " + c.key() + ", "
                        + authKind(c) + ")")
                .orElse(route.direct() ? "no credentials (direct delivery)"
                        : route.saslEnabled() ? "none found" : "none (AUTH not configured)")).append('\n');
        sb.append("TLS level:   ").append(route.tlsLevel().postfixName()).append(wrapperMode ? " (wrapper mode)" : "");
        return sb.toString();
    }

    /** What the credentials authenticate with, never the secret: "password", or "OAuth2 profile NAME". */
    static String authKind(Credentials c) {
        return c.oauth2Profile().map(p -> "OAuth2 profile " + p).orElse("password");
    }
}
