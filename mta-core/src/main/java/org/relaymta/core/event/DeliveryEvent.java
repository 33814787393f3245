package org.relaymta.core.event;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * What became of one recipient of one message, as recorded in the relay's event outbox (with the
 * spool change it belongs to), written to the log and handed to listeners and event sinks. Its JSON
 * form (schema version {@link #SCHEMA_VERSION}) is {@link EventJson}'s.
 *
 * <pre>{@code
 * relay.addListener(event -> log.info("{} {} {} ({})", event.queueId(), event.recipient(), event.status(), event.bounceClass()));
 * }</pre>
 *
 * @param queueId     the message's queue id
 * @param messageId   its {@code Message-ID} field as written ({@code <id@host>}), or empty
 * @param sender      the envelope sender (empty for {@code <>})
 * @param recipient   the recipient
 * @param status      what happened
 * @param nextHop     where the route sends it: the next hop(s) as configured ({@code [smtp.example.com]:587}),
 *                    or the recipient domain whose MX was used; empty when no route was taken
 * @param relay       the server of the session, {@code host[ip]:port}, or {@code none}
 * @param direct      true when the recipient's own MX was the destination (no relay host)
 * @param replyCode   the server's SMTP reply code, 0 when the reason is the relay's own
 * @param dsn         enhanced status code
 * @param reason      the remote reply or local reason
 * @param bounceClass why it failed or was deferred ({@code invalid-recipient}, {@code rate-limited}, ...;
 *                    see bounce-classes.cf), empty for other events
 * @param attempt     the delivery attempt this outcome came from (1 for the first), 0 when none was made
 * @param delays      Postfix's {@code delays=a/b/c/d}
 * @param tls         TLS protocol, cipher and how the server was checked ({@code TLSv1.3 TLS_AES_128_GCM_SHA256 verified(dane)}), or empty
 * @param dkimDomain  the {@code d=} of the relay's DKIM signature on the message, or empty
 * @param node        the relay node that recorded it ({@code myhostname})
 * @param time        when it was recorded
 * @param delay       time since the message arrived
 * @param logLine     the Postfix-format log line
 * @param sequence    the event's position in the outbox: increasing, and the same when the event is
 *                    handed over again after a restart (listeners get every event at least once)
 */
public record DeliveryEvent(String queueId, String messageId, String sender, String recipient, Status status, String nextHop,
                            String relay, boolean direct, int replyCode, String dsn, String reason, String bounceClass,
                            int attempt, Delays delays, String tls, String dkimDomain, String node, Instant time,
                            Duration delay, String logLine, long sequence) {

    /** The version of the event's JSON form; it grows when a field changes meaning or goes, not when one is added. */
    public static final int SCHEMA_VERSION = 1;

    public enum Status {
        /** Accepted into the queue (one per recipient). */
        RECEIVED("received"),
        /** Taken by the next hop ({@code status=sent}). */
        SENT("delivered"),
        DEFERRED("deferred"),
        BOUNCED("bounced"),
        /** Too long in the queue: bounced by the relay. */
        EXPIRED("expired"),
        HELD("held"),
        RELEASED("released"),
        DELETED("deleted"),
        /** Not sent: the recipient is on the suppression list. */
        SUPPRESSED("suppressed"),
        /** Held back by a relay quota (once per message and quota). */
        QUOTA_DELAYED("quota_delayed"),
        /**
         * A destination's shaping changed ({@code relay-shaping.cf}): a provider's reply throttled or
         * suspended it, or the action ended. {@code nextHop} is the destination, {@code reason} what
         * changed; the queue id and recipient are those of the reply that caused it, if any.
         */
        SHAPING("shaping");

        private final String eventName;

        Status(String eventName) {
            this.eventName = eventName;
        }

        /** Whether this is the recipient's last word: sent, bounced, expired, deleted or suppressed (no later event for it). */
        public boolean isFinal() {
            return this == SENT || this == BOUNCED || this == EXPIRED || this == DELETED || this == SUPPRESSED;
        }

        /** Postfix's word in {@code status=} ({@code sent}, {@code deferred}, ...). */
        public String postfixName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The {@code event} field of the JSON form ({@code delivered} for a sent recipient). */
        public String eventName() {
            return eventName;
        }

        /** The status of an {@code event} name, or of a Postfix word. */
        public static Status ofName(String name) {
            for (Status s : values()) {
                if (s.eventName.equals(name) || s.postfixName().equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("no delivery event is called '" + name + "'");
        }
    }

    /**
     * Postfix's {@code delays=a/b/c/d} in seconds: before the queue manager, in the queue, session
     * setup (DNS, connect, greeting, TLS, AUTH), and transmission.
     */
    public record Delays(double beforeQueue, double inQueue, double setup, double transmit) {
        public static final Delays NONE = new Delays(0, 0, 0, 0);
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
        return new DeliveryEvent(queueId, messageId, sender, recipient, status, nextHop, relay, direct, replyCode, dsn, reason,
                bounceClass, attempt, delays, tls, dkimDomain, node, time, delay, logLine, sequence);
    }
}
