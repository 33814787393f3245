package org.relaymta.core.internal.delivery;

import java.io.IOException;

/** A session-level failure: connection refused or lost, timeout, protocol error, TLS failure. */
final class SmtpSessionException extends IOException {
    enum Kind { CONNECT, TIMEOUT, LOST, PROTOCOL, TLS }

    private final Kind kind;

    SmtpSessionException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }
}
