package org.relaymta.config;

import java.util.Locale;

/**
 * Postfix {@code smtp_tls_security_level} values supported by the delivery client, globally or per
 * destination in {@code smtp_tls_policy_maps}.
 *
 * <pre>{@code
 * RelaySettings.defaults().defaultRelayHost("[smtp.example.com]:587").tlsLevel(TlsLevel.VERIFY);
 * }</pre>
 */
public enum TlsLevel {
    /** Never use TLS. */
    NONE,
    /** Opportunistic: STARTTLS when offered, no certificate checks, plaintext retry after a failed handshake. */
    MAY,
    /** Mandatory encryption, no certificate checks. */
    ENCRYPT,
    /** Mandatory, certificate chain and MX host name verified. */
    VERIFY,
    /** Mandatory, certificate chain and next-hop name verified. */
    SECURE,
    /**
     * Opportunistic DANE (RFC 7672): with usable TLSA records from a DNSSEC-validated zone, TLS is
     * mandatory and the certificate must match them; without, as {@link #MAY}.
     */
    DANE,
    /** Mandatory DANE: no usable TLSA records defers the mail. */
    DANE_ONLY,
    /** Mandatory, the certificate or its public key must have one of the configured SHA-256 digests. */
    FINGERPRINT;

    /** Whether no TLS (or a failed check) defers, whatever the server says. {@link #DANE} decides per destination. */
    public boolean mandatory() {
        return switch (this) {
            case ENCRYPT, VERIFY, SECURE, DANE_ONLY, FINGERPRINT -> true;
            default -> false;
        };
    }

    /** Whether the server's certificate is checked (PKIX, digests or TLSA) at this level. */
    public boolean verifiesCertificate() {
        return switch (this) {
            case VERIFY, SECURE, DANE_ONLY, FINGERPRINT -> true;
            default -> false;
        };
    }

    public String postfixName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static TlsLevel parse(String value, String where) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        for (TlsLevel l : values()) {
            if (l.postfixName().equals(v)) {
                return l;
            }
        }
        throw new ConfigException(where, "unsupported TLS security level '" + value.strip()
                + "' (expected none, may, encrypt, dane, dane-only, fingerprint, verify or secure)");
    }
}
