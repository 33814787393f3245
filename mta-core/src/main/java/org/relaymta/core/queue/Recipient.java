package org.relaymta.core.queue;

/**
 * One recipient's state in a queued message.
 *
 * <pre>{@code
 * for (Recipient r : relay.queue().message(id).orElseThrow().recipients()) {
 *     System.out.println(r.address() + " " + r.status() + " " + r.dsn() + " " + r.lastReason());
 * }
 * }</pre>
 *
 * @param address    the envelope recipient
 * @param status     pending, sent or failed
 * @param dsn        the last enhanced status code (for example {@code 4.4.1}), or empty
 * @param lastReason the last outcome's text (remote reply or local reason), or empty
 */
public record Recipient(String address, RecipientStatus status, String dsn, String lastReason) {

    /** A recipient not tried yet. */
    public static Recipient pending(String address) {
        return new Recipient(address, RecipientStatus.PENDING, "", "");
    }

    /** The same recipient after an attempt. */
    public Recipient with(RecipientStatus newStatus, String newDsn, String reason) {
        return new Recipient(address, newStatus, newDsn, reason);
    }
}
