package org.relaymta.core.internal.spool;

import java.time.Instant;
import java.util.List;

/**
 * The SMTP envelope of one message as received.
 *
 * @param sender        the envelope sender; empty string for the null sender {@code <>}
 * @param recipients    envelope recipients in the order given
 * @param arrival       when the message was accepted
 * @param clientAddress the submitting client's IP address, or empty when submitted in-process
 * @param requireTls    {@code MAIL FROM:<...> REQUIRETLS} (RFC 8689): deliver only over verified TLS to a
 *                      next hop that offers REQUIRETLS, else bounce
 */
public record Envelope(String sender, List<String> recipients, Instant arrival, String clientAddress, boolean requireTls) {

    public Envelope(String sender, List<String> recipients, Instant arrival, String clientAddress) {
        this(sender, recipients, arrival, clientAddress, false);
    }

    public Envelope withRequireTls(boolean on) {
        return new Envelope(sender, recipients, arrival, clientAddress, on);
    }

    public Envelope {
        recipients = List.copyOf(recipients);
        checkNoLineBreak(sender, "sender");
        for (String r : recipients) {
            checkNoLineBreak(r, "recipient");
            if (r.isEmpty()) {
                throw new IllegalArgumentException("empty recipient address");
            }
        }
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
        checkNoLineBreak(clientAddress, "client address");
    }

    private static void checkNoLineBreak(String value, String what) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == '\t' || c == 0) {
                throw new IllegalArgumentException(what + " contains a control character");
            }
        }
    }
}
