package org.relaymta.core.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.config.internal.LogText;
import org.relaymta.core.internal.cleanup.MessageCleanup;
import org.relaymta.core.internal.delivery.DeliveryRequest;
import org.relaymta.core.internal.queue.QueueManager;
import org.relaymta.core.internal.spool.CrlfCanonicalizer;
import org.relaymta.core.internal.spool.MessageFacts;
import org.relaymta.core.internal.spool.MessageIdSniffer;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.MessageRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A message being received. Write the RFC 5322 content to {@link #content()} (line ends are made
 * CRLF-canonical on the way), then {@link #commit()}: when it returns, the message is durable and
 * queued, and the client may be told {@code 250}.
 */
public final class IncomingMessage implements AutoCloseable {
    private static final Logger CLEANUP_LOG = LoggerFactory.getLogger("org.relaymta.cleanup");
    private final SpoolWriter writer;
    private final MessageCleanup cleanup;
    private final CrlfCanonicalizer canonical;
    private final MessageIdSniffer messageId;
    private final QueueManager queue;
    private final Runnable onCommitted;
    private boolean done;

    public IncomingMessage(SpoolWriter writer, QueueManager queue, Runnable onCommitted) {
        this(writer, null, queue, onCommitted);
    }

    /** With a cleanup step (DKIM signing) between the content and the spool; null for none. */
    public IncomingMessage(SpoolWriter writer, MessageCleanup cleanup, QueueManager queue,
                           Runnable onCommitted) {
        this.writer = writer;
        this.cleanup = cleanup;
        this.canonical = new CrlfCanonicalizer(cleanup != null ? cleanup : writer);
        this.messageId = new MessageIdSniffer(canonical);
        this.queue = queue;
        this.onCommitted = onCommitted;
    }

    public String queueId() {
        return writer.id();
    }

    public OutputStream content() {
        return messageId;
    }

    /** How many bare LF / CR line ends were rewritten to CRLF so far. */
    public long bareNewlines() {
        return canonical.bareNewlines();
    }

    /** Makes the message durable (fsync) and queues it; returns the queue id. */
    public String commit() throws IOException {
        return SpoolWriter.awaitCommit(commitAsync(Runnable::run), writer.id());
    }

    /**
     * Like {@link #commit()} without blocking the caller on the disk (an event loop, say): completes
     * with the queue id once the message is durable and queued. {@code blocking} runs the fsyncs of a
     * large message that has its own file.
     */
    public CompletableFuture<String> commitAsync(Executor blocking) {
        done = true;
        try {
            canonical.finish();
        } catch (IOException e) {
            writer.abort();
            return CompletableFuture.failedFuture(e);
        }
        if (cleanup != null && cleanup.hasMilters()) {
            // Milters talk over sockets: on the blocking executor, then the commit as usual.
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return cleanup.finishWithMilters(writer);
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            }, blocking).thenCompose(headers -> decide(headers, blocking)).whenComplete((id, failed) -> {
                if (failed != null) {
                    writer.abort();
                }
            });
        }
        return decide(cleanup == null ? null : cleanup.finish(), blocking);
    }

    /** Acts on the cleanup's verdict: refuse, drop, hold, or queue; then commits. */
    private CompletableFuture<String> decide(byte[] headers, Executor blocking) {
        MessageCleanup.Verdict verdict = cleanup == null ? null : cleanup.verdict();
        HeaderChecks.Action action = verdict == null ? null : verdict.action();
        if (action == HeaderChecks.Action.REJECT) {
            writer.abort();
            return CompletableFuture.failedFuture(
                    new MessageRejectedException(verdict.reply()));
        }
        if (action == HeaderChecks.Action.DISCARD) {
            // Postfix's DISCARD: the client hears "queued", nothing is kept or delivered.
            writer.abort();
            return CompletableFuture.completedFuture(writer.id());
        }
        boolean hold = action == HeaderChecks.Action.HOLD;
        CompletableFuture<SpooledMessage> durable =
                writer.commitAsync(blocking, headers);
        ByteBuffer content = writer.committedContent();
        DeliveryRequest.Content inMemory = content == null ? null
                : () -> new ByteArrayInputStream(content.array(), content.arrayOffset(), content.remaining());
        if (hold) {
            // The hold is saved before the message is indexed, so it is never tried first; off the commit thread.
            return durable.thenApplyAsync(message -> {
                onCommitted.run();
                queue.enqueueHeld(message.withFacts(facts()), verdict.text());
                return message.id();
            }, blocking);
        }
        return durable.thenApply(message -> {
            onCommitted.run();
            // Postfix's cleanup line, between smtpd's client= and qmgr's from=: log tools find a message by it.
            String id = messageId.messageId();
            CLEANUP_LOG.info("{}: message-id={}", message.id(), id.isEmpty() ? "<>" : LogText.controls(id));
            queue.enqueue(message.withFacts(facts()), inMemory);
            return message.id();
        });
    }

    private MessageFacts facts() {
        return new MessageFacts(messageId.messageId(), cleanup == null ? "" : cleanup.signedDomain());
    }

    /** Throws the partial message away. */
    public void abort() {
        done = true;
        writer.abort();
    }

    @Override
    public void close() {
        if (!done) {
            abort();
        }
    }
}
