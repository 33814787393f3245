package org.relaymta.core.spool;

/** Where one recipient of a queued message stands. */
public enum RecipientStatus {
    /** Not yet delivered; will be tried (again). */
    PENDING,
    /** Accepted by the next hop. */
    SENT,
    /** Permanently failed (5xx or expired). */
    FAILED
}
