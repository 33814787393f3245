package org.relaymta.config;

import java.time.Duration;

/** Queue manager timing and limits, Postfix names and defaults (relay-semantics section 8). */
public record QueueSettings(
        Duration queueRunDelay,
        Duration minimalBackoffTime,
        Duration maximalBackoffTime,
        Duration maximalQueueLifetime,
        Duration bounceQueueLifetime,
        Duration delayWarningTime,
        int destinationConcurrencyLimit,
        int destinationRecipientLimit) {

    public static QueueSettings postfixDefaults() {
        return new QueueSettings(Duration.ofSeconds(300), Duration.ofSeconds(300), Duration.ofSeconds(4000),
                Duration.ofDays(5), Duration.ofDays(5), Duration.ZERO, 20, 50);
    }

    /** When to try again after a deferral: message age clamped to the backoff bounds (as Postfix does). */
    public Duration backoffFor(Duration messageAge) {
        Duration d = messageAge;
        if (d.compareTo(minimalBackoffTime) < 0) {
            d = minimalBackoffTime;
        }
        if (d.compareTo(maximalBackoffTime) > 0) {
            d = maximalBackoffTime;
        }
        return d;
    }
}
