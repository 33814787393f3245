package org.relaymta.core.internal.delivery;

/**
 * A failure for every recipient still undecided in a session or an attempt, worded as Postfix
 * words it. {@code session}: no usable session was had (for throttling and route memory).
 */
record Failure(String dsn, String reason, String relay, boolean session) {
    Failure(String dsn, String reason, String relay) {
        this(dsn, reason, relay, "none".equals(relay));
    }

    boolean permanent() {
        return dsn.startsWith("5");
    }

    Failure ofSession() {
        return new Failure(dsn, reason, relay, true);
    }

    /** A session-level exception: TLS failures are 4.7.5, the rest {@code otherDsn}. */
    static Failure of(SmtpSessionException e, String otherDsn, String relay) {
        return new Failure(e.kind() == SmtpSessionException.Kind.TLS ? "4.7.5" : otherDsn, e.getMessage(), relay);
    }
}
