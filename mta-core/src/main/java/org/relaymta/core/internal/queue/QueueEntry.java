package org.relaymta.core.internal.queue;

import org.relaymta.core.queue.QueueState;
import org.relaymta.core.internal.spool.SpooledMessage;

/**
 * One queued message in the in-memory index: what scheduling and operator actions need, and no
 * more. Envelope and recipient states of a waiting message are read from the spool when it is
 * tried or shown, so 100,000 deferred messages cost a few megabytes. A message that is still in
 * the journal (fresh, never tried) keeps its {@link SpooledMessage}, which says where its record is.
 *
 * <p>Every change of one message's state (an attempt starting or ending, hold, release, delete,
 * requeue) happens while holding this object's monitor, so an operator action and the end of an
 * attempt never interleave: an action asked for while the message is in delivery is recorded in
 * {@link #pending} and applied by whoever ends the attempt.
 */
final class QueueEntry {
    /** An operator action waiting for the running attempt to end. */
    enum Pending { NONE, HOLD, DELETE, REQUEUE }

    final String id;
    final long arrivalMillis;
    QueueState state;
    /**
     * The message while it lives in the journal, or while a quota holds it with a state newer than
     * its state file (only its due time differs); null when its files say everything.
     */
    SpooledMessage resident;
    boolean inFlight;
    /** Asked to be attempted while its attempt was running: attempt again when it ends. */
    boolean rerun;
    /** Gone from the queue (delivered, bounced, deleted): a late holder of this object must not act on it. */
    boolean removed;
    Pending pending = Pending.NONE;

    QueueEntry(String id, long arrivalMillis, QueueState state, SpooledMessage resident) {
        this.id = id;
        this.arrivalMillis = arrivalMillis;
        this.state = state;
        this.resident = resident;
    }

    static QueueEntry of(SpooledMessage m) {
        return new QueueEntry(m.id(), m.envelope().arrival().toEpochMilli(), m.state(), m.journaled() ? m : null);
    }
}
