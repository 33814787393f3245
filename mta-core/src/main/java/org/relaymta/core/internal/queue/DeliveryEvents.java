package org.relaymta.core.internal.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.config.internal.LogText;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Delivery events: built with their Postfix log line, written to the delivery log, handed to listeners. */
final class DeliveryEvents {
    private static final Logger log = LoggerFactory.getLogger(DeliveryEvents.class);
    private static final Logger deliveryLog = LoggerFactory.getLogger("org.relaymta.delivery");

    private final Clock clock;
    private final List<DeliveryListener> listeners = new CopyOnWriteArrayList<>();

    DeliveryEvents(Clock clock) {
        this.clock = clock;
    }

    void addListener(DeliveryListener listener) {
        listeners.add(listener);
    }

    /** One recipient's outcome; {@code inQueue}, {@code setup} and {@code transmit} are Postfix's delays b, c and d. */
    DeliveryEvent event(SpooledMessage message, String rcpt, DeliveryEvent.Status status, String relay, boolean direct,
                        String dsn, String reason, String tls, double inQueue, double setup, double transmit) {
        Duration delay = Duration.between(message.envelope().arrival(), clock.instant());
        double total = Math.max(0, delay.toMillis() / 1000.0);
        double beforeQueue = Math.max(0, total - inQueue - setup - transmit);
        String line = DeliveryLogFormat.line(message.id(), rcpt, relay, total, beforeQueue, inQueue, setup, transmit,
                dsn, status.postfixName(), reason);
        return new DeliveryEvent(message.id(), message.envelope().sender(), rcpt, status, relay, direct, dsn,
                reason, tls, delay, line);
    }

    void publish(DeliveryEvent event) {
        if (event.status() == DeliveryEvent.Status.SENT) {
            if (!event.tls().isEmpty()) {
                deliveryLog.info("{}: TLS connection established to {}: {}", event.queueId(), LogText.controls(event.relay()),
                        event.tls());
            }
            deliveryLog.info("{}", event.logLine());
        } else {
            deliveryLog.warn("{}", event.logLine());
        }
        for (DeliveryListener l : listeners) {
            try {
                l.onDelivery(event);
            } catch (RuntimeException e) {
                log.warn("queue: delivery listener failed: {}", e.toString());
            }
        }
    }
}
