package org.relaymta.core.event;

import java.time.Duration;
import java.util.Locale;

/**
 * One recipient's outcome, as recorded in the relay's event outbox (with the spool change it belongs
 * to), written to the log and handed to listeners.
 *
 * <pre>{@code
 * relay.addListener(event -> log.info("{} {} {} ({})", event.queueId(), event.recipient(), event.status(), event.dsn()));
 * }</pre>
 *
 * @param queueId   the message's queue id
 * @param sender    the envelope sender (empty for {@code <>})
 * @param recipient the recipient
 * @param status    sent, deferred, bounced, expired; held or deleted by an operator or a header check
 * @param relay     {@code host[ip]:port} or {@code none}
 * @param direct    true when the recipient's own MX was the destination (no relay host)
 * @param dsn       enhanced status code
 * @param reason    the remote reply or local reason
 * @param tls       TLS protocol, cipher and how the server was checked ({@code TLSv1.3 TLS_AES_128_GCM_SHA256 verified(dane)}), or empty
 * @param delay     time since the message arrived
 * @param logLine   the Postfix-format log line
 * @param sequence  the event's position in the outbox: increasing, and the same when the event is
 *                  handed over again after a restart (listeners get every event at least once)
 */
public record DeliveryEvent(String queueId, String sender, String recipient, Status status, String relay, boolean direct,
                            String dsn, String reason, String tls, Duration delay, String logLine, long sequence) {

    public enum Status {
        SENT, DEFERRED, BOUNCED, EXPIRED, HELD, DELETED;

        /** Whether this is the recipient's last word: sent, bounced, expired or deleted (no later event for it). */
        public boolean isFinal() {
            return this == SENT || this == BOUNCED || this == EXPIRED || this == DELETED;
        }

        public String postfixName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * How the session was secured: {@code none} (plain text), {@code may} (encrypted, the
     * certificate not checked), or {@code verified(pkix)}, {@code verified(dane)},
     * {@code verified(sts)}, {@code verified(fingerprint)}.
     */
    public String tlsOutcome() {
        return tlsOutcome(tls);
    }

    /** The outcome part of a {@link #tls()} text ("protocol cipher outcome"). */
    public static String tlsOutcome(String tls) {
        if (tls == null || tls.isBlank()) {
            return "none";
        }
        String[] words = tls.strip().split(" ");
        return words.length >= 3 ? words[2] : "may";
    }

    /** The same event at outbox position {@code sequence}. */
    public DeliveryEvent withSequence(long sequence) {
        return new DeliveryEvent(queueId, sender, recipient, status, relay, direct, dsn, reason, tls, delay, logLine, sequence);
    }
}
