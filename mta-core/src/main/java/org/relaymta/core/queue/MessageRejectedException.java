package org.relaymta.core.queue;

import java.io.IOException;

/**
 * The message was refused by its content ({@code header_checks} REJECT, a milter's reject or
 * tempfail, a milter's changes over the size limit): the future of {@code submit} fails with
 * this; the SMTP listener answers with {@link #reply()}. The message is not queued.
 */
public final class MessageRejectedException extends IOException {
    private final String reply;

    /** {@code reply} as SMTP has it: {@code 550 5.7.1 text} or {@code 451 4.7.1 text}. */
    public MessageRejectedException(String reply) {
        super(reply);
        this.reply = reply;
    }

    /** The SMTP reply: code, enhanced status code, text. */
    public String reply() {
        return reply;
    }

    /** The reply code: 5xx refused for good, 4xx try again later. */
    public int code() {
        try {
            return Integer.parseInt(reply.substring(0, 3));
        } catch (RuntimeException e) {
            return 550;
        }
    }
}
