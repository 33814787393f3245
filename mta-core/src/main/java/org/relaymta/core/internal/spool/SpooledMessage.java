package org.relaymta.core.internal.spool;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;

/**
 * A message durable in the spool: its envelope and per-recipient state, and where its content is.
 * The content itself stays on disk; the queue index holds only these.
 *
 * @param id            the queue id
 * @param envelope      sender, recipients as received, arrival time
 * @param file          the spool file
 * @param contentOffset where the CRLF-canonical content starts in the file
 * @param contentLength content length in bytes
 * @param recipients    current per-recipient state
 * @param attempts      delivery attempts so far
 * @param nextAttempt   when to try again
 * @param state         active, deferred or hold
 * @param delayWarned   whether a delay warning was already sent to the sender
 * @param eightBit      whether the content has bytes above 127 (needs 8BITMIME downstream)
 * @param journaled     whether {@code file} is a journal segment shared with other messages (else a queue file)
 * @param facts         its Message-ID and DKIM domain, or null when not read yet (found in the spool at start)
 */
public record SpooledMessage(String id, Envelope envelope, Path file, long contentOffset, long contentLength,
                             List<Recipient> recipients, int attempts, Instant nextAttempt, QueueState state,
                             boolean delayWarned, boolean eightBit, boolean journaled, MessageFacts facts) {

    public SpooledMessage {
        recipients = List.copyOf(recipients);
    }

    /** A message as just received (or found in the spool without saved state): every recipient pending, active. */
    static SpooledMessage received(String id, Envelope envelope, Path file, long contentOffset, long contentLength,
                                   boolean eightBit, boolean journaled) {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength,
                envelope.recipients().stream().map(Recipient::pending).toList(), 0, envelope.arrival(), QueueState.ACTIVE,
                false, eightBit, journaled, null);
    }

    public List<Recipient> pendingRecipients() {
        return recipients.stream().filter(r -> r.status() == RecipientStatus.PENDING).toList();
    }

    public boolean finished() {
        return recipients.stream().noneMatch(r -> r.status() == RecipientStatus.PENDING);
    }

    public SpooledMessage withState(List<Recipient> newRecipients, int newAttempts, Instant newNextAttempt) {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength, newRecipients, newAttempts,
                newNextAttempt, state, delayWarned, eightBit, journaled, facts);
    }

    public SpooledMessage withQueueState(QueueState newState) {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength, recipients, attempts, nextAttempt,
                newState, delayWarned, eightBit, journaled, facts);
    }

    public SpooledMessage withNextAttempt(Instant when) {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength, recipients, attempts, when, state,
                delayWarned, eightBit, journaled, facts);
    }

    public SpooledMessage withDelayWarned() {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength, recipients, attempts, nextAttempt,
                state, true, eightBit, journaled, facts);
    }

    /** This state at {@code other}'s place on disk (it may have moved from the journal to a queue file meanwhile). */
    public SpooledMessage withLocationOf(SpooledMessage other) {
        return new SpooledMessage(id, envelope, other.file, other.contentOffset, contentLength, recipients, attempts,
                nextAttempt, state, delayWarned, eightBit, other.journaled, facts != null ? facts : other.facts);
    }

    /** With its Message-ID and DKIM domain known. */
    public SpooledMessage withFacts(MessageFacts known) {
        return new SpooledMessage(id, envelope, file, contentOffset, contentLength, recipients, attempts, nextAttempt, state,
                delayWarned, eightBit, journaled, known);
    }
}
