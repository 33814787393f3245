package org.relaymta.core.queue;

import java.time.Instant;

/**
 * A suppressed recipient: mail to it is bounced at once ({@code 5.1.1 ... suppressed since}) with
 * a {@code suppressed} event instead of being sent again.
 *
 * @param address the recipient, lower case
 * @param since   when it was suppressed
 * @param expires when the suppression ends ({@code suppression_lifetime} after {@code since})
 * @param reason  the bounce class that suppressed it, or the operator's note
 */
public record Suppression(String address, Instant since, Instant expires, String reason) {
}
