package org.relaymta.config.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.List;
import java.util.Optional;

/**
 * The explanation {@code mta route} prints: which rule picked the next hop, the credentials'
 * user name and key (never the password), TLS level and wrapper mode.
 */
public record RouteReport(String sender, Optional<String> recipient, Route route, Optional<Credentials> credentials,
                          boolean mxLookup, boolean wrapperMode) {

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
        return new RouteReport(s, r, route, credentials, mx, wrapper);
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
        return Json.write(o);
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("sender:      ").append(sender.isEmpty() ? "<>" : sender).append('\n');
        recipient.ifPresent(r -> sb.append("recipient:   ").append(r).append('\n'));
        String why = switch (route.source()) {
            case SENDER_MAP -> "sender-dependent relay map, key " + route.mapKey().orElse("?");
            case DEFAULT_RELAY -> "default relay host";
            case OPT_OUT -> "opted out in the relay map (key " + route.mapKey().orElse("?") + "): direct delivery";
            case DIRECT -> "no relay host configured: direct delivery";
        };
        sb.append("decided by:  ").append(why).append('\n');
        if (route.direct()) {
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
