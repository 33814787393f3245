package org.relaymta.core.internal.outbox;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.relaymta.core.event.DeliveryEvent;

/**
 * Where the queue records its events before it makes the spool change they describe: the future
 * completes once they are durable (their sequences assigned), and the caller says {@link
 * Recorded#settled()} once the spool change is made, so the outbox knows how far a crash could
 * have left the two apart.
 */
public interface EventRecorder {
    CompletableFuture<Recorded> record(List<DeliveryEvent> events);

    /**
     * Which of {@code queueIds} have an event of {@code status} among the events still kept, looking
     * no further back than {@code notBefore}: at start, to find messages accepted just before a crash
     * whose {@code received} event was not made durable. None when nothing is kept.
     */
    default Set<String> recorded(DeliveryEvent.Status status, Set<String> queueIds, Instant notBefore) {
        return Set.of();
    }

    /** Events made durable, and the spool change they belong to still to be settled. */
    interface Recorded {
        List<DeliveryEvent> events();

        void settled();
    }
}
