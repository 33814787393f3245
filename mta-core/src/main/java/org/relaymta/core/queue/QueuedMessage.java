package org.relaymta.core.queue;

import java.time.Instant;
import java.util.List;

/**
 * A message in the relay's queue, as {@link QueueControl} lists it.
 *
 * <pre>{@code
 * relay.queue().message(queueId).ifPresent(m ->
 *         System.out.println(m.state() + ", " + m.attempts() + " attempts, next at " + m.nextAttempt()));
 * }</pre>
 *
 * @param id          the queue id (16 hex digits, as in the log lines)
 * @param sender      the envelope sender ({@code ""} for the null sender {@code <>})
 * @param arrival     when the relay accepted it
 * @param size        content size in bytes
 * @param recipients  each recipient's state: pending, sent, or failed with its DSN code and last reply
 * @param state       active (new or being delivered), deferred (waiting to retry) or hold
 * @param attempts    delivery attempts so far
 * @param nextAttempt when it is tried next (for a deferred message)
 */
public record QueuedMessage(String id, String sender, Instant arrival, long size, List<Recipient> recipients,
                            QueueState state, int attempts, Instant nextAttempt) {

    public QueuedMessage {
        recipients = List.copyOf(recipients);
    }

    /** The recipients not yet sent or failed. */
    public List<Recipient> pendingRecipients() {
        return recipients.stream().filter(r -> r.status() == RecipientStatus.PENDING).toList();
    }
}
