package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.OutputStream;
import org.relaymta.core.IncomingMessage;

/**
 * One message's content as it arrives after the 354: end of data and dot-stuffing ({@link
 * DataReader}), the size limit (the rest is read and discarded once it is passed), and the spool
 * write (a failure is remembered and answered at the end). The commit and its reply are the
 * session's.
 */
final class MessageIntake {
    /** How the content phase ended. */
    enum Outcome { COMPLETE, TOO_BIG, WRITE_FAILED }

    private final IncomingMessage message;
    private final OutputStream content;
    private final long sizeLimit;
    private final DataReader reader = new DataReader();
    private final DataReader.Sink sink = this::accept;
    private long bytes;
    private boolean tooBig;
    private IOException writeFailure;

    MessageIntake(IncomingMessage message, long sizeLimit) throws IOException {
        this.message = message;
        this.content = message.content();
        this.sizeLimit = sizeLimit;
    }

    IncomingMessage message() {
        return message;
    }

    /** Writes the trace header before the content. */
    void prepend(String header) throws IOException {
        content.write(header.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Consumes content from {@code in}; true once the end-of-data line was read (what follows stays in {@code in}). */
    boolean read(ByteBuf in) {
        return reader.read(in, sink);
    }

    long bytes() {
        return bytes;
    }

    Outcome outcome() {
        return tooBig ? Outcome.TOO_BIG : writeFailure != null ? Outcome.WRITE_FAILED : Outcome.COMPLETE;
    }

    IOException writeFailure() {
        return writeFailure;
    }

    private void accept(ByteBuf source, int index, int length) {
        bytes += length;
        if (tooBig || writeFailure != null) {
            return;
        }
        if (sizeLimit > 0 && bytes > sizeLimit) {
            tooBig = true;
            return;
        }
        try {
            if (source.hasArray()) {
                content.write(source.array(), source.arrayOffset() + index, length);
            } else {
                content.write(ByteBufUtil.getBytes(source, index, length, false));
            }
        } catch (IOException e) {
            writeFailure = e;
        }
    }
}
