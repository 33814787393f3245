package org.relaymta.core.internal.spool;

import java.time.Instant;
import org.relaymta.core.queue.QueueState;

/**
 * What a restart needs to schedule a queued message without reading it: its id, queue, next
 * attempt and arrival. A message still in the journal (never tried) comes whole, as {@code journaled}.
 *
 * @param id          the queue id
 * @param state       active, deferred or hold
 * @param nextAttempt when it is due
 * @param arrival     when it was received
 * @param journaled   the message when it is a journal record, else null (it is a queue file)
 */
public record StoredMessage(String id, QueueState state, Instant nextAttempt, Instant arrival, SpooledMessage journaled) {
}
