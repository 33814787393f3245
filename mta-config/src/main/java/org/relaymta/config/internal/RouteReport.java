package org.relaymta.config.internal;

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
        boolean wrapper = config.wrapperMode();
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
        int at = s.lastIndexOf('@');
        return at > 0 && at < s.length() - 1 && s.chars().noneMatch(c -> Character.isWhitespace(c) || c < 0x20)
                && !s.contains("<") && !s.contains(">");
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{");
        field(sb, "sender", Json.string(sender.isEmpty() ? "<>" : sender));
        field(sb, "recipient", recipient.map(Json::string).orElse("null"));
        field(sb, "source", Json.string(route.source().jsonName()));
        field(sb, "map_key", route.mapKey().map(Json::string).orElse("null"));
        List<String> hops = route.nextHops().stream().map(h -> Json.string(h.asWritten())).toList();
        field(sb, "nexthops", "[" + String.join(", ", hops) + "]");
        field(sb, "mx_lookup", Boolean.toString(mxLookup));
        field(sb, "credentials", credentials.map(c -> "{\"username\": " + Json.string(c.username())
                + ", \"key\": " + Json.string(c.key()) + ", \"auth\": " + Json.string(authKind(c)) + "}").orElse("null"));
        field(sb, "tls_level", Json.string(route.tlsLevel().postfixName()));
        field(sb, "wrapper_mode", Boolean.toString(wrapperMode));
        sb.setLength(sb.length() - 2);
        return sb.append("}").toString();
    }

    private static void field(StringBuilder sb, String name, String jsonValue) {
        sb.append('"').append(name).append("\": ").append(jsonValue).append(", ");
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
