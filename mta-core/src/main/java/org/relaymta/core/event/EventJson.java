package org.relaymta.core.event;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import org.relaymta.config.internal.Json;

/**
 * The JSON form of a {@link DeliveryEvent}, as webhooks, Kafka and the outbox carry it (schema:
 * {@code docs/event-schema.json}, version {@link DeliveryEvent#SCHEMA_VERSION}):
 *
 * <pre>{@code
 * {"version":1,"event":"bounced","time":"2026-12-07T10:02:03.456Z","node":"relay.example.com",
 *  "queue_id":"1A2B3C4D5E6F7081","message_id":"<42@shop.example>","sender":"orders@shop.example",
 *  "recipient":"nobody@example.org","next_hop":"[smtp.sendgrid.net]:587",
 *  "relay":"smtp.sendgrid.net[192.0.2.7]:587","server":{"name":"smtp.sendgrid.net","address":"192.0.2.7","port":587},
 *  "direct":false,"reply_code":550,"enhanced_status":"5.1.1","reply_text":"host ... said: 550 5.1.1 ...",
 *  "class":"invalid-recipient","attempt":1,"delays":{"before_queue":0,"in_queue":0.01,"setup":0.2,"transmit":0.05},
 *  "delay_seconds":0.26,"tls":"TLSv1.3 TLS_AES_256_GCM_SHA384 verified(pkix)","tls_outcome":"verified(pkix)",
 *  "dkim_domain":"shop.example","sequence":812,"log_line":"1A2B3C4D5E6F7081: to=<nobody@example.org>, ..."}
 * }</pre>
 *
 * Strings are never null (empty when unknown); {@code server} is absent when no session was had.
 * {@code sequence} is the event's outbox position: a consumer that sees one twice (delivery is at
 * least once) can tell by it.
 */
public final class EventJson {
    private EventJson() {
    }

    /** One event as one JSON object (no line end). */
    public static String write(DeliveryEvent e) {
        StringWriter out = new StringWriter(512 + e.reason().length() + e.logLine().length());
        try (JsonWriter w = new JsonWriter(out)) {   // compact: no spaces, one line
            write(e, w);
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);   // a StringWriter does not fail
        }
        return out.toString();
    }

    private static void write(DeliveryEvent e, JsonWriter w) throws IOException {
        w.beginObject();
        w.name("version").value(DeliveryEvent.SCHEMA_VERSION);
        w.name("event").value(e.status().eventName());
        w.name("sequence").value(e.sequence());
        w.name("time").value(DateTimeFormatter.ISO_INSTANT.format(e.time()));
        w.name("node").value(e.node());
        w.name("queue_id").value(e.queueId());
        w.name("message_id").value(e.messageId());
        w.name("sender").value(e.sender());
        w.name("recipient").value(e.recipient());
        w.name("next_hop").value(e.nextHop());
        w.name("relay").value(e.relay());
        Server server = Server.of(e.relay());
        if (server != null) {
            w.name("server").beginObject();
            w.name("name").value(server.name());
            w.name("address").value(server.address());
            w.name("port").value(server.port());
            w.endObject();
        }
        w.name("direct").value(e.direct());
        w.name("reply_code").value(e.replyCode());
        w.name("enhanced_status").value(e.dsn());
        w.name("reply_text").value(e.reason());
        w.name("class").value(e.bounceClass());
        w.name("attempt").value(e.attempt());
        DeliveryEvent.Delays d = e.delays();
        w.name("delays").beginObject();
        w.name("before_queue").value(d.beforeQueue());
        w.name("in_queue").value(d.inQueue());
        w.name("setup").value(d.setup());
        w.name("transmit").value(d.transmit());
        w.endObject();
        w.name("delay_seconds").value(e.delay().toMillis() / 1000.0);
        w.name("tls").value(e.tls());
        w.name("tls_outcome").value(e.tls().isEmpty() ? "" : e.tlsOutcome());
        w.name("dkim_domain").value(e.dkimDomain());
        w.name("log_line").value(e.logLine());
        w.endObject();
    }

    /**
     * An event from its JSON form; fields a newer or older writer left out take their empty value.
     *
     * @throws IllegalArgumentException when {@code json} is not an event
     */
    public static DeliveryEvent read(String json) {
        try {
            return read(Json.object(json));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a delivery event: " + e.getMessage(), e);
        }
    }

    private static DeliveryEvent read(JsonObject o) {
        JsonObject delays = o.has("delays") && o.get("delays").isJsonObject() ? o.getAsJsonObject("delays") : new JsonObject();
        // The outbox's lines from before this form: status, dsn, reason, delay_ms, seq, log.
        String name = o.has("event") ? o.get("event").getAsString() : o.get("status").getAsString();
        Duration delay = o.has("delay_seconds") ? Duration.ofMillis(Math.round(o.get("delay_seconds").getAsDouble() * 1000))
                : Duration.ofMillis(number(o, "delay_ms").longValue());
        return new DeliveryEvent(string(o, "queue_id"), string(o, "message_id"), string(o, "sender"), string(o, "recipient"),
                DeliveryEvent.Status.ofName(name), string(o, "next_hop"), string(o, "relay"),
                o.has("direct") && o.get("direct").getAsBoolean(), number(o, "reply_code").intValue(),
                o.has("enhanced_status") ? string(o, "enhanced_status") : string(o, "dsn"),
                o.has("reply_text") ? string(o, "reply_text") : string(o, "reason"), string(o, "class"),
                number(o, "attempt").intValue(),
                new DeliveryEvent.Delays(number(delays, "before_queue").doubleValue(), number(delays, "in_queue").doubleValue(),
                        number(delays, "setup").doubleValue(), number(delays, "transmit").doubleValue()),
                string(o, "tls"), string(o, "dkim_domain"), string(o, "node"),
                o.has("time") ? Instant.parse(o.get("time").getAsString()) : Instant.EPOCH, delay,
                o.has("log_line") ? string(o, "log_line") : string(o, "log"),
                o.has("sequence") ? number(o, "sequence").longValue() : number(o, "seq").longValue());
    }

    private static String string(JsonObject o, String name) {
        JsonElement v = o.get(name);
        return v == null || v.isJsonNull() ? "" : v.getAsString();
    }

    private static Number number(JsonObject o, String name) {
        JsonElement v = o.get(name);
        return v == null || v.isJsonNull() ? 0 : v.getAsNumber();
    }

    /** The server of a {@code host[ip]:port} relay text. */
    record Server(String name, String address, int port) {
        static Server of(String relay) {
            int open = relay.lastIndexOf('[');
            int close = relay.lastIndexOf(']');
            if (open <= 0 || close < open) {
                return null;
            }
            int port = 0;
            if (close + 2 < relay.length() && relay.charAt(close + 1) == ':') {
                try {
                    port = Integer.parseInt(relay.substring(close + 2));
                } catch (NumberFormatException e) {
                    port = 0;
                }
            }
            return new Server(relay.substring(0, open), relay.substring(open + 1, close), port);
        }
    }
}
