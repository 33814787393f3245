package org.relaymta.core.internal.outbox;

import java.util.Optional;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.EventJson;

/**
 * One event as one line of an outbox segment: its published JSON form ({@link EventJson}). A line
 * that is not one is skipped at reading; lines written before the published form existed still read.
 */
final class EventCodec {
    private EventCodec() {
    }

    static String line(DeliveryEvent e) {
        return EventJson.write(e) + "\n";
    }

    /** The event of a line, or empty when the line is torn (a crash mid-write) or not an event. */
    static Optional<DeliveryEvent> parse(String line) {
        try {
            return Optional.of(EventJson.read(line));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
