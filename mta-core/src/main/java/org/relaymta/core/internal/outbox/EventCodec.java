package org.relaymta.core.internal.outbox;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import org.relaymta.config.internal.Json;
import org.relaymta.core.event.DeliveryEvent;

/** One event as one line of JSON in an outbox segment, and back; a line that is not one is skipped at reading. */
final class EventCodec {
    private EventCodec() {
    }

    static String line(DeliveryEvent e) {
        JsonObject o = Json.object();
        o.addProperty("seq", e.sequence());
        o.addProperty("queue_id", e.queueId());
        o.addProperty("sender", e.sender());
        o.addProperty("recipient", e.recipient());
        o.addProperty("status", e.status().postfixName());
        o.addProperty("relay", e.relay());
        o.addProperty("direct", e.direct());
        o.addProperty("dsn", e.dsn());
        o.addProperty("reason", e.reason());
        o.addProperty("tls", e.tls());
        o.addProperty("delay_ms", e.delay().toMillis());
        o.addProperty("log", e.logLine());
        return Json.write(o) + "\n";
    }

    /** The event of a line, or empty when the line is torn (a crash mid-write) or not an event. */
    static Optional<DeliveryEvent> parse(String line) {
        try {
            JsonObject o = Json.object(line);
            return Optional.of(new DeliveryEvent(o.get("queue_id").getAsString(), o.get("sender").getAsString(),
                    o.get("recipient").getAsString(),
                    DeliveryEvent.Status.valueOf(o.get("status").getAsString().toUpperCase(Locale.ROOT)),
                    o.get("relay").getAsString(), o.get("direct").getAsBoolean(), o.get("dsn").getAsString(),
                    o.get("reason").getAsString(), o.get("tls").getAsString(), Duration.ofMillis(o.get("delay_ms").getAsLong()),
                    o.get("log").getAsString(), o.get("seq").getAsLong()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
