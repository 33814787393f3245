package org.relaymta.core.internal;

/** The Jakarta Mail session properties of the {@code relaymta} transport, shared by the engine and the transport. */
public final class MailProperties {
    public static final String PROTOCOL = "relaymta";
    public static final String RELAY_PROPERTY = "mail.relaymta.relay";
    public static final String SPOOL_PROPERTY = "mail.relaymta.spool";
    public static final String FROM_PROPERTY = "mail.relaymta.from";
    /** {@code true}: every message is sent with REQUIRETLS (RFC 8689). */
    public static final String REQUIRETLS_PROPERTY = "mail.relaymta.requiretls";
    /** {@code no}: every message gets {@code TLS-Required: No} (RFC 8689 section 5). */
    public static final String TLS_REQUIRED_PROPERTY = "mail.relaymta.tlsrequired";

    private MailProperties() {
    }
}
