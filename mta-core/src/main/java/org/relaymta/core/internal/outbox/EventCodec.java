package org.relaymta.core.internal.outbox;

import com.google.gson.JsonObject;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
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
        StringWriter out = new StringWriter(256 + e.logLine().length() + e.reason().length());
        try (JsonWriter w = Json.writer(out)) {
            w.beginObject();
            w.name("seq").value(e.sequence());
            w.name("queue_id").value(e.queueId());
            w.name("sender").value(e.sender());
            w.name("recipient").value(e.recipient());
            w.name("status").value(e.status().postfixName());
            w.name("relay").value(e.relay());
            w.name("direct").value(e.direct());
            w.name("dsn").value(e.dsn());
            w.name("reason").value(e.reason());
            w.name("tls").value(e.tls());
            w.name("delay_ms").value(e.delay().toMillis());
            w.name("log").value(e.logLine());
            w.endObject();
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);   // a StringWriter does not fail
        }
        return out.append('\n').toString();
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
