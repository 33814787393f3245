package org.relaymta.core.internal.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Supplier;
import org.relaymta.config.internal.BounceClasses;
import org.relaymta.config.internal.LogText;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.outbox.EventRecorder;
import org.relaymta.core.internal.shaping.ShapingAction;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.MessageFacts;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery events: built with their Postfix log line, recorded in the event outbox before the spool
 * change they belong to, and once that change is made written to the delivery log and shown to the
 * in-process observers (the metrics). Listeners read them from the outbox, not from here.
 */
final class DeliveryEvents {
    private static final Logger log = LoggerFactory.getLogger(DeliveryEvents.class);
    private static final Logger deliveryLog = LoggerFactory.getLogger("org.relaymta.delivery");

    private final Clock clock;
    private final EventRecorder recorder;
    private final Function<SpooledMessage, MessageFacts> facts;
    private final Supplier<String> node;
    private final List<DeliveryListener> observers = new CopyOnWriteArrayList<>();

    /**
     * @param facts a message's Message-ID and DKIM domain (the spool reads them when the queue does not know them)
     * @param node  this relay's name on its events ({@code myhostname})
     */
    DeliveryEvents(Clock clock, EventRecorder recorder, Function<SpooledMessage, MessageFacts> facts, Supplier<String> node) {
        this.clock = clock;
        this.recorder = recorder;
        this.facts = facts;
        this.node = node;
    }

    EventRecorder recorder() {
        return recorder;
    }

    /** Told of every event as its spool change is made, on that thread (metrics; tests of the queue). */
    void addObserver(DeliveryListener observer) {
        observers.add(observer);
    }

    /** One outcome of a recipient in delivery attempt {@code attempt}. */
    DeliveryEvent event(SpooledMessage message, DeliveryOutcome o, DeliveryEvent.Status status, String bounceClass, int attempt,
                        double inQueue) {
        return event(message, o.recipient(), status, o.nextHop(), o.relay(), o.direct(), o.dsn(), o.reason(), bounceClass,
                o.tls(), attempt, inQueue, o.setupSeconds(), o.transmitSeconds());
    }

    /** One recipient's outcome; {@code inQueue}, {@code setup} and {@code transmit} are Postfix's delays b, c and d. */
    DeliveryEvent event(SpooledMessage message, String rcpt, DeliveryEvent.Status status, String nextHop, String relay,
                        boolean direct, String dsn, String reason, String bounceClass, String tls, int attempt,
                        double inQueue, double setup, double transmit) {
        Instant now = clock.instant();
        Duration delay = Duration.between(message.envelope().arrival(), now).truncatedTo(ChronoUnit.MILLIS);
        double total = Math.max(0, delay.toMillis() / 1000.0);
        double beforeQueue = Math.max(0, total - inQueue - setup - transmit);
        String line = DeliveryLogFormat.line(message.id(), rcpt, relay, total, beforeQueue, inQueue, setup, transmit,
                dsn, logWord(status), reason, "none".equals(relay) ? "" : DeliveryEvent.tlsOutcome(tls), bounceClass);
        MessageFacts f = facts.apply(message);
        return new DeliveryEvent(message.id(), f.messageId(), message.envelope().sender(), rcpt, status, nextHop, relay, direct,
                BounceClasses.replyCode(reason), dsn, reason, bounceClass, attempt,
                new DeliveryEvent.Delays(millis(beforeQueue), millis(inQueue), millis(setup), millis(transmit)), tls, f.dkimDomain(), node.get(), now, delay,
                line, 0);
    }

    /**
     * A shaping change as an event (recorded, logged once): the destination as its next hop, what
     * changed as its reason, and the reply that caused it (with its message and recipient) if any.
     */
    void recordShaping(Shaper.Change c) {
        ShapingAction a = c.action();
        DeliveryOutcome t = c.trigger();
        String what = switch (c.kind()) {
            case STARTED -> a.action().word() + " started";
            case DEEPENED -> "throttle deepened";
            case STEPPED -> "throttle stepped back";
            case LIFTED -> a.action().word() + " ended";
            case CLEARED -> a.action().word() + " lifted by the operator";
        };
        String state = c.kind() == Shaper.Kind.LIFTED || c.kind() == Shaper.Kind.CLEARED ? "" : ": " + a.describe();
        String reason = what + " for " + a.destination() + " by relay-shaping.cf rule " + a.rule() + state
                + (t == null ? "" : "; after " + t.reason());
        String id = c.queueId() == null ? "" : c.queueId();
        String line = (id.isEmpty() ? "shaping" : id + ": shaping") + ": " + LogText.controls(reason);
        DeliveryEvent e = new DeliveryEvent(id, "", "", t == null ? "" : t.recipient(), DeliveryEvent.Status.SHAPING,
                a.destination(), t == null ? "none" : t.relay(), t != null && t.direct(), t == null ? 0 : BounceClasses.replyCode(
                t.reason()), t == null ? "" : t.dsn(), reason, "rate-limited", 0, DeliveryEvent.Delays.NONE, "", "", node.get(),
                clock.instant(), Duration.ZERO, line, 0);
        recorder.record(List.of(e)).thenAccept(this::settled);
    }

    /** Seconds to the millisecond, as the event's JSON gives them. */
    private static double millis(double seconds) {
        return Math.round(seconds * 1000) / 1000.0;
    }

    /** Postfix's {@code status=} word: a quota's hold is a deferral, a suppressed recipient a bounce. */
    private static String logWord(DeliveryEvent.Status status) {
        return switch (status) {
            case QUOTA_DELAYED -> "deferred";
            case SUPPRESSED -> "bounced";
            default -> status.postfixName();
        };
    }

    /**
     * Held, released, deleted: one event per recipient still pending, worded as the qmgr log line
     * ({@code ID: placed on hold (why)}).
     */
    List<DeliveryEvent> ofPending(SpooledMessage message, DeliveryEvent.Status status, String done, String why) {
        List<DeliveryEvent> events = new ArrayList<>();
        Instant now = clock.instant();
        Duration delay = Duration.between(message.envelope().arrival(), now).truncatedTo(ChronoUnit.MILLIS);
        MessageFacts f = null;
        for (Recipient r : message.recipients()) {
            if (r.status() == RecipientStatus.PENDING) {
                f = f == null ? facts.apply(message) : f;
                events.add(new DeliveryEvent(message.id(), f.messageId(), message.envelope().sender(), r.address(), status, "",
                        "none", false, 0, "", why, "", message.attempts(), DeliveryEvent.Delays.NONE, "", f.dkimDomain(),
                        node.get(), now, delay, message.id() + ": " + done + " (" + why + ")", 0));
            }
        }
        return events;
    }

    /** A message accepted: one {@code received} event per recipient. */
    List<DeliveryEvent> received(SpooledMessage message) {
        return ofPending(message, DeliveryEvent.Status.RECEIVED, "received", "queued");
    }

    /**
     * Records the {@code received} events of a message just committed to the spool, without
     * waiting: the spool change is made, so they are settled once durable. A crash before that
     * loses them; {@code QueueManager.recover} finds such messages and records them then.
     */
    void recordReceived(SpooledMessage message) {
        List<DeliveryEvent> received = received(message);
        if (!received.isEmpty()) {
            recorder.record(received).thenAccept(EventRecorder.Recorded::settled);
        }
    }

    /**
     * Records events and waits until they are durable, for callers that may block (operator
     * actions, header checks at intake); the spool change follows, then {@link EventRecorder.Recorded#settled()}.
     */
    EventRecorder.Recorded recordNow(List<DeliveryEvent> events) {
        try {
            return recorder.record(events).join();
        } catch (CompletionException e) {
            throw new IllegalStateException("cannot record delivery events: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** The spool change of these recorded events is made: the log lines and the observers. */
    void settled(EventRecorder.Recorded recorded) {
        settled(recorded, true);
    }

    /**
     * The log lines of recorded events, before the spool change they describe, so a message's
     * {@code status=sent} line comes before its {@code removed} line, as Postfix writes them.
     */
    void logLines(EventRecorder.Recorded recorded) {
        recorded.events().forEach(DeliveryEvents::logLine);
    }

    /** {@code writeLog}: false when {@link #logLines} wrote them already. */
    void settled(EventRecorder.Recorded recorded, boolean writeLog) {
        recorded.settled();
        for (DeliveryEvent event : recorded.events()) {
            if (writeLog) {
                logLine(event);
            }
            if (event.status() == DeliveryEvent.Status.RECEIVED) {
                continue;   // the observers (metrics, tests) count deliveries; acceptance is counted where it happens
            }
            for (DeliveryListener l : observers) {
                try {
                    l.onDelivery(event);
                } catch (RuntimeException e) {
                    log.warn("queue: delivery observer failed: {}", e.toString());
                }
            }
        }
    }

    private static void logLine(DeliveryEvent event) {
        switch (event.status()) {
            case SENT -> {
                if (!event.tls().isEmpty()) {
                    // Postfix's words: Verified (certificate checked as the policy asks) or Untrusted.
                    String[] t = event.tls().split(" ");
                    deliveryLog.info("{}: {} TLS connection established to {}: {} with cipher {} ({})", event.queueId(),
                            event.tlsOutcome().startsWith("verified") ? "Verified" : "Untrusted",
                            LogText.controls(event.relay()), t[0], t.length > 1 ? t[1] : "", event.tlsOutcome());
                }
                deliveryLog.info("{}", event.logLine());
            }
            case DEFERRED, BOUNCED, EXPIRED, QUOTA_DELAYED, SUPPRESSED, SHAPING -> deliveryLog.warn("{}", event.logLine());
            default -> {
                // received, held, released and deleted: the queue manager's own line says it
            }
        }
    }
}
