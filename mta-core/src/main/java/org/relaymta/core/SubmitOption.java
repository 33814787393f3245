package org.relaymta.core;

/**
 * How the relay is to treat TLS for one submitted message (RFC 8689).
 *
 * <pre>{@code
 * engine.submit(message, "app@example.com", List.of("patient@example.org"), SubmitOption.REQUIRE_TLS);
 * }</pre>
 */
public enum SubmitOption {
    /**
     * REQUIRETLS: deliver only over TLS with a verified certificate to a next hop that offers
     * REQUIRETLS itself (an MX from a DNSSEC-validated lookup or an MTA-STS policy); otherwise the
     * message bounces with {@code 5.7.30} and a notification that returns none of its content.
     */
    REQUIRE_TLS,
    /**
     * {@code TLS-Required: No}: the recipient domain's DANE and MTA-STS policies do not hold the
     * message back (a relay host's {@code encrypt} still does). Adds the header field.
     */
    TLS_NOT_REQUIRED
}
