package org.relaymta.core.internal.milter;

import java.io.IOException;

/**
 * A milter's changes went past what one message may hold (its body or header section over
 * {@code message_size_limit}, or more header memory than the engine has to spare): that message
 * only is refused with {@link #reply()}; nothing is kept of it.
 */
public final class MilterLimitException extends IOException {
    private final String reply;

    MilterLimitException(String reply, String detail) {
        super(detail);
        this.reply = reply;
    }

    static MilterLimitException tooBig(long limit) {
        return new MilterLimitException("552 5.3.4 Error: message file too big",
                "the milter's changes make the message larger than message_size_limit (" + limit + " bytes)");
    }

    /** The SMTP reply for the client. */
    public String reply() {
        return reply;
    }
}
