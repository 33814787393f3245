package org.relaymta.core.queue;

import java.io.IOException;

/** The message is larger than {@code message_size_limit}: {@code submit} fails with this and nothing is queued. */
public final class MessageTooLargeException extends IOException {
    public MessageTooLargeException(long limit) {
        super("message exceeds the size limit of " + limit + " bytes");
    }
}
