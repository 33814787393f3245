package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.relaymta.config.internal.BareNewlinePolicy;
import org.relaymta.core.internal.IncomingMessage;
import org.relaymta.core.queue.MessageRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One message's content as it arrives after the 354: end of data and dot-stuffing ({@link
 * DataReader}), the size limit (the rest is read and discarded once it is passed), and the spool
 * write (a failure is remembered and answered at the end), and at the end of data the decision:
 * refused, or committed (fsync) and answered {@code 250} with the queue id.
 */
final class MessageIntake {
    private static final Logger log = LoggerFactory.getLogger(MessageIntake.class);

    /** The reply to the end of data. */
    record Reply(int code, String text) {
        boolean accepted() {
            return code == 250;
        }
    }

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
        content.write(header.getBytes(StandardCharsets.UTF_8));
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

    /**
     * At the end of data: a refusal (too big, write failure, bare line ends under {@code REJECT}) at
     * once, else the commit on {@code blocking} and its 250, or 451 when it failed. The message is
     * aborted whenever the reply is not 250.
     */
    CompletableFuture<Reply> finish(String client, long sizeLimit, BareNewlinePolicy bareNewlines, String from,
                                    int nrcpt, Executor blocking) {
        switch (outcome()) {
            case TOO_BIG -> {
                message.abort();
                log.info("reject: DATA from {}: 552 5.3.4 message size {} exceeds limit {}", client, bytes, sizeLimit);
                return CompletableFuture.completedFuture(new Reply(552, "5.3.4 Error: message file too big"));
            }
            case WRITE_FAILED -> {
                message.abort();
                log.error("spool write failed: {}", writeFailure.getMessage());
                return CompletableFuture.completedFuture(new Reply(451, "4.3.0 Error: queue file write error"));
            }
            default -> {
                // complete: checked and committed below
            }
        }
        if (message.bareNewlines() > 0 && bareNewlines == BareNewlinePolicy.REJECT) {
            message.abort();
            return CompletableFuture.completedFuture(new Reply(550, "5.5.2 Error: bare <LF> or <CR> received"));
        }
        return message.commitAsync(blocking).handle((queued, failed) -> {
            if (failed != null) {
                Throwable cause = failed instanceof CompletionException && failed.getCause() != null ? failed.getCause() : failed;
                if (cause instanceof MessageRejectedException rejected) {
                    // header_checks REJECT or a milter's verdict, logged by cleanup
                    return new Reply(rejected.code(), rejected.reply().length() > 4 ? rejected.reply().substring(4) : "5.7.1 Rejected");
                }
                log.error("spool commit failed: {}", cause.getMessage());
                return new Reply(451, "4.3.0 Error: queue file write error");
            }
            if (message.bareNewlines() > 0) {
                log.info("{}: {} bare newline(s) normalized to CRLF (from=<{}>, nrcpt={}, size={})", queued,
                        message.bareNewlines(), from, nrcpt, bytes);
            }
            return new Reply(250, "2.0.0 Ok: queued as " + queued);
        });
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
