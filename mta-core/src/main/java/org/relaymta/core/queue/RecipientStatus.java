package org.relaymta.core.queue;

/**
 * Where one recipient of a queued message stands.
 *
 * <pre>{@code
 * long waiting = message.recipients().stream().filter(r -> r.status() == RecipientStatus.PENDING).count();
 * }</pre>
 */
public enum RecipientStatus {
    /** Not yet delivered; will be tried (again). */
    PENDING,
    /** Accepted by the next hop. */
    SENT,
    /** Permanently failed (5xx or expired). */
    FAILED
}
