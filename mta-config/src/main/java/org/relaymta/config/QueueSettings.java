package org.relaymta.config;

import java.time.Duration;

/**
 * Queue manager timing and limits, with Postfix's names and defaults ({@code queue_run_delay},
 * {@code minimal_backoff_time}, {@code maximal_queue_lifetime}, ...).
 *
 * <pre>{@code
 * QueueSettings q = QueueSettings.postfixDefaults();
 * RelaySettings settings = RelaySettings.defaults().queue(new QueueSettings(q.queueRunDelay(),
 *         q.minimalBackoffTime(), q.maximalBackoffTime(), Duration.ofDays(1), ...));   // or backoff(min, max)
 * }</pre>
 */
public record QueueSettings(
        Duration queueRunDelay,
        Duration minimalBackoffTime,
        Duration maximalBackoffTime,
        Duration maximalQueueLifetime,
        Duration bounceQueueLifetime,
        Duration delayWarningTime,
        int destinationConcurrencyLimit,
        int destinationRecipientLimit,
        long bounceSizeLimit,
        long queueMinfree) {

    /** Postfix's {@code bounce_size_limit}: a bounce carries the whole original up to this size. */
    public static final long DEFAULT_BOUNCE_SIZE_LIMIT = 50000;

    public static QueueSettings postfixDefaults() {
        return new QueueSettings(Duration.ofSeconds(300), Duration.ofSeconds(300), Duration.ofSeconds(4000),
                Duration.ofDays(5), Duration.ofDays(5), Duration.ZERO, 20, 50, DEFAULT_BOUNCE_SIZE_LIMIT, 0);
    }

    /** As these, with other backoff bounds. */
    public QueueSettings withBackoff(Duration minimal, Duration maximal) {
        return new QueueSettings(queueRunDelay, minimal, maximal, maximalQueueLifetime, bounceQueueLifetime,
                delayWarningTime, destinationConcurrencyLimit, destinationRecipientLimit, bounceSizeLimit, queueMinfree);
    }

    /**
     * Free space the spool's file system must have to accept a message (Postfix's check): {@code
     * queue_minfree}, but at least 1.5 times the message size limit.
     */
    public long requiredFreeSpace(long messageSizeLimit) {
        return Math.max(queueMinfree, messageSizeLimit + messageSizeLimit / 2);
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
