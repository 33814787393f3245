package org.relaymta.config.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.QueueSettings;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;

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
 * @param sources               files this snapshot was read from (watched for hot reload)
 * @param listener              inbound SMTP policy
 * @param accounts              submission users from {@code postfix-accounts.cf}: lower-cased address to {@code {SCHEME}hash}
 * @param oauth2Profiles        OAuth2 clients from {@code oauth2-clients.cf}, by profile name
 * @param dkim                  DKIM signing keys by sender ({@code opendkim/} or {@code rspamd/dkim/} in the config directory)
 * @param headerChecks          {@code header_checks}: applied once when a message is accepted
 * @param smtpHeaderChecks      {@code smtp_header_checks}: applied to what the client sends, at each delivery
 * @param milters               {@code smtpd_milters}, {@code non_smtpd_milters} and their settings
 * @param relayFailureThreshold {@code relay_failure_threshold}: failed sessions in a row that open a relay hop's circuit breaker
 * @param limits                provider quotas from {@code relay-limits.cf}
 * @param cluster               the Redis that several nodes share quotas and relay health through ({@code MTA_REDIS_URL})
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
        List<String> warnings,
        List<java.nio.file.Path> sources,
        ListenerSettings listener,
        Map<String, String> accounts,
        Map<String, OAuth2Profile> oauth2Profiles,
        DkimTable dkim,
        HeaderChecks headerChecks,
        HeaderChecks smtpHeaderChecks,
        MilterSettings milters,
        int relayFailureThreshold,
        RelayLimits limits,
        ClusterSettings cluster) {

    public static final long DEFAULT_MESSAGE_SIZE_LIMIT = 10_240_000L;

    /** This snapshot with {@code more} warnings after its own (findings that need the whole configuration). */
    public RelayConfig withMoreWarnings(List<String> more) {
        List<String> all = new java.util.ArrayList<>(warnings);
        all.addAll(more);
        return new RelayConfig(defaultRelay, defaultRelayText, fallbackRelay, senderRelayMap, implicitRelayDomains, credentials,
                senderDependentAuth, saslEnabled, tlsLevel, wrapperMode, mynetworks, myhostname, messageSizeLimit,
                bareNewlinePolicy, queue, smtp, List.copyOf(all), sources, listener, accounts, oauth2Profiles, dkim, headerChecks,
                smtpHeaderChecks, milters, relayFailureThreshold, limits, cluster);
    }

    /** What changed between two snapshots, in counts and public values only: for the reload log line. */
    public String describeChangeFrom(RelayConfig previous) {
        List<String> parts = new java.util.ArrayList<>();
        compare(parts, "relay map entries", previous.senderRelayMap.size(), senderRelayMap.size());
        compare(parts, "implicit RELAY_HOST domains", previous.implicitRelayDomains.size(), implicitRelayDomains.size());
        compare(parts, "credentials", previous.credentials.size(), credentials.size());
        if (!previous.defaultRelayText.equals(defaultRelayText)) {
            parts.add("default relay host " + previous.defaultRelayText.orElse("none") + " -> " + defaultRelayText.orElse("none"));
        }
        if (previous.tlsLevel != tlsLevel) {
            parts.add("TLS level " + previous.tlsLevel.postfixName() + " -> " + tlsLevel.postfixName());
        }
        if (!previous.mynetworks.toString().equals(mynetworks.toString())) {
            parts.add("mynetworks " + previous.mynetworks + " -> " + mynetworks);
        }
        compare(parts, "submission accounts", previous.accounts.size(), accounts.size());
        if (previous.messageSizeLimit != messageSizeLimit) {
            parts.add("message_size_limit " + previous.messageSizeLimit + " -> " + messageSizeLimit);
        }
        if (!previous.queue.equals(queue) || !previous.smtp.equals(smtp)) {
            parts.add("queue/client timing changed");
        }
        if (parts.isEmpty()) {
            // e.g. a password changed, or a mapping's target with the same count: say so without details.
            parts.add("entries changed, counts unchanged (relay map " + senderRelayMap.size() + ", credentials "
                    + credentials.size() + ")");
        }
        return String.join(", ", parts);
    }

    /** Tables that had entries in {@code previous} and have none now, with the counts. */
    public List<String> tablesEmptiedSince(RelayConfig previous) {
        List<String> lost = new java.util.ArrayList<>();
        if (previous.senderRelayMap.size() > 0 && senderRelayMap.size() == 0) {
            lost.add("the relay map lost all its " + previous.senderRelayMap.size() + " entries");
        }
        if (!previous.credentials.isEmpty() && credentials.isEmpty()) {
            lost.add("the credentials lost all their " + previous.credentials.size() + " entries");
        }
        if (!previous.accounts.isEmpty() && accounts.isEmpty()) {
            lost.add("the submission accounts lost all their " + previous.accounts.size() + " entries");
        }
        return lost;
    }

    private static void compare(List<String> parts, String what, int before, int after) {
        if (before != after) {
            parts.add(what + " " + before + " -> " + after);
        }
    }

    /**
     * Some account's hash (the first), to check an unknown user's password against at the same
     * cost as a known one's, so response time does not tell which users exist.
     */
    public Optional<String> anyAccountHash() {
        return accounts.values().stream().findFirst();
    }

    /** The account's password hash ({@code {SHA512-CRYPT}$6$...}), if the user exists. */
    public Optional<String> accountHash(String user) {
        return Optional.ofNullable(accounts.get(user.toLowerCase(java.util.Locale.ROOT)));
    }

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
