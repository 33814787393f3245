package org.relaymta.config.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.TlsLevel;

/**
 * Where one recipient's copy of a message goes and how: the result of {@link Router#route}.
 *
 * @param source        which rule decided
 * @param mapKey        the relay-map key that matched (implicit {@code RELAY_HOST} mappings report {@code @domain}), or empty
 * @param nextHops      next hops in order (empty for direct delivery: the recipient domain's MX is used)
 * @param directDomain  for direct delivery, the recipient domain
 * @param senderCredentials credentials found by sender (sender-dependent authentication), if any
 * @param tlsLevel      TLS policy for the session
 * @param wrapperMode   implicit TLS before the greeting
 * @param saslEnabled   whether AUTH may be used at all
 * @param defaultRelay  true when the next hops are the default relay host (gets Postfix's 4.3.5 safety net)
 * @param transport     the {@code transport_maps} entry that decided, if one did (error:, retry: and discard:
 *                      entries are carried out without a session)
 */
public record Route(
        Source source,
        Optional<String> mapKey,
        List<NextHop> nextHops,
        Optional<String> directDomain,
        Optional<Credentials> senderCredentials,
        TlsLevel tlsLevel,
        boolean wrapperMode,
        boolean saslEnabled,
        boolean defaultRelay,
        Map<String, Credentials> credentialTable,
        Optional<TransportTable.Entry> transport) {

    public enum Source {
        TRANSPORT("transport"), SENDER_MAP("sender_map"), DEFAULT_RELAY("default_relay"), OPT_OUT("opt_out"), DIRECT("direct");

        private final String jsonName;

        Source(String jsonName) {
            this.jsonName = jsonName;
        }

        public String jsonName() {
            return jsonName;
        }
    }

    /** True when delivery goes to the recipient domain's MX rather than a configured relay. */
    public boolean direct() {
        return nextHops.isEmpty();
    }

    /** The transport entry's error:, retry: or discard: action, when that is what decided. */
    public Optional<TransportTable.Entry> action() {
        return transport.filter(t -> t.kind() == TransportTable.Kind.ERROR || t.kind() == TransportTable.Kind.RETRY
                || t.kind() == TransportTable.Kind.DISCARD);
    }

    /**
     * Credentials for a session with {@code serverHost} reached through {@code hop}: by sender first,
     * then the server's host name, then the next hop as written. Never
     * for direct delivery: a recipient's MX is whatever the recipient's DNS names, and a relay
     * host's secret must not go there [improvement: Postfix sends them].
     */
    public Optional<Credentials> credentialsFor(String serverHost, NextHop hop) {
        if (!saslEnabled || direct()) {
            return Optional.empty();
        }
        if (senderCredentials.isPresent()) {
            return senderCredentials;
        }
        Credentials byHost = credentialTable.get(Router.lowerCase(serverHost));
        if (byHost != null) {
            return Optional.of(byHost);
        }
        if (hop != null) {
            return Optional.ofNullable(credentialTable.get(Router.lowerCase(hop.asWritten())));
        }
        return Optional.empty();
    }

    /** A key that is equal for recipients that can share one SMTP transaction. */
    public String groupingKey() {
        return source + "|" + nextHops + "|" + directDomain.orElse("") + "|"
                + senderCredentials.map(Credentials::key).orElse("") + "|" + tlsLevel + "|" + wrapperMode + "|"
                + transport.map(TransportTable.Entry::location).orElse("");
    }

    @Override
    public String toString() {
        return "Route[" + source.jsonName() + " " + (direct() ? "direct:" + directDomain.orElse("?") : nextHops.toString())
                + ", tls=" + tlsLevel.postfixName() + "]";
    }
}
