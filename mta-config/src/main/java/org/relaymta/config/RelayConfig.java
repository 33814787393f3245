package org.relaymta.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One immutable snapshot of the relay's configuration. A reload builds a new snapshot; deliveries in
 * progress keep the one they started with.
 *
 * @param defaultRelay          the default relay host's next hops ({@code DEFAULT_RELAY_HOST} / {@code relayhost}); empty: direct delivery
 * @param defaultRelayText      the default relay host as written, or empty
 * @param fallbackRelay         {@code smtp_fallback_relay} next hops, tried after the others
 * @param senderRelayMap        {@code postfix-relaymap.cf} (sender-dependent relay hosts)
 * @param implicitRelayDomains  local sender domain to next hops, from {@code RELAY_HOST}
 * @param credentials           SASL credentials by lower-cased key
 * @param senderDependentAuth   look credentials up by sender first
 * @param saslEnabled           AUTH to relay hosts when credentials are found
 * @param tlsLevel              {@code smtp_tls_security_level}
 * @param wrapperMode           {@code smtp_tls_wrappermode}: implicit TLS (port 465 style)
 * @param mynetworks            clients allowed to relay without AUTH
 * @param myhostname            this relay's host name (greeting, EHLO, Received:)
 * @param messageSizeLimit      {@code message_size_limit} in bytes
 * @param bareNewlinePolicy     {@code smtpd_forbid_bare_newline}
 * @param queue                 queue manager settings
 * @param smtp                  SMTP client settings
 * @param warnings              problems that did not stop the load (unknown parameters, ...)
 */
public record RelayConfig(
        List<NextHop> defaultRelay,
        Optional<String> defaultRelayText,
        List<NextHop> fallbackRelay,
        PostfixTable senderRelayMap,
        Map<String, List<NextHop>> implicitRelayDomains,
        Map<String, Credentials> credentials,
        boolean senderDependentAuth,
        boolean saslEnabled,
        TlsLevel tlsLevel,
        boolean wrapperMode,
        Networks mynetworks,
        String myhostname,
        long messageSizeLimit,
        BareNewlinePolicy bareNewlinePolicy,
        QueueSettings queue,
        SmtpClientSettings smtp,
        List<String> warnings) {

    public static final long DEFAULT_MESSAGE_SIZE_LIMIT = 10_240_000L;

    /** One line for people: where outbound mail goes, TLS level, whether AUTH is configured. Never a secret. */
    public String outboundSummary() {
        StringBuilder sb = new StringBuilder();
        sb.append("default relay host ").append(defaultRelayText.orElse("none (direct MX delivery)"));
        if (senderRelayMap.size() > 0 || !implicitRelayDomains.isEmpty()) {
            sb.append(", ").append(senderRelayMap.size() + implicitRelayDomains.size()).append(" sender-dependent route(s)");
        }
        sb.append(", TLS ").append(tlsLevel.postfixName());
        if (wrapperMode) {
            sb.append(" (wrapper mode)");
        }
        sb.append(", AUTH ").append(saslEnabled && !credentials.isEmpty()
                ? "configured (" + credentials.size() + " credential" + (credentials.size() == 1 ? "" : "s") + ")"
                : "not configured");
        return sb.toString();
    }
}
