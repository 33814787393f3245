package org.relaymta.config;

import java.util.Locale;

/**
 * Postfix {@code smtp_tls_security_level} values supported by the delivery client.
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
    SECURE;

    public boolean mandatory() {
        return this.compareTo(ENCRYPT) >= 0;
    }

    public boolean verifiesCertificate() {
        return this.compareTo(VERIFY) >= 0;
    }

    public String postfixName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TlsLevel parse(String value, String where) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        switch (v) {
            case "none": return NONE;
            case "may": return MAY;
            case "encrypt": return ENCRYPT;
            case "verify": return VERIFY;
            case "secure": return SECURE;
            default:
                throw new ConfigException(where, "unsupported TLS security level '" + value.strip()
                        + "' (expected none, may, encrypt, verify or secure)");
        }
    }
}
