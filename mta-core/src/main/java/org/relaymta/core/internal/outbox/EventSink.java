package org.relaymta.core.internal.outbox;

import java.util.List;
import org.relaymta.core.event.DeliveryEvent;

/**
 * Somewhere outside the process that delivery events are handed to (a webhook, a Kafka topic).
 * Each sink is an outbox consumer of its own, by {@link #name()}: it is handed events from its
 * saved position, in order, and the position moves only after {@link #deliver} returned, so a
 * sink gets every event at least once across outages and restarts. Retries and backoff are the
 * feed's ({@link SinkRunner}); a sink only says how a try ended.
 */
public interface EventSink extends AutoCloseable {
    /** The consumer name its position is saved under (letters, digits, '-', '_', '.'). */
    String name();

    /** What logs, metrics and {@code /health} call it: never a secret or a query string. */
    String label();

    /** The most events in one {@link #deliver} call. */
    int maxBatch();

    /** Whether it takes this event at all (a filter by event type). */
    boolean wants(DeliveryEvent event);

    /** Hands the batch over; returns once the other side has it. */
    void deliver(List<DeliveryEvent> batch) throws SinkException, InterruptedException;

    @Override
    default void close() {
    }
}
