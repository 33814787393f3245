package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.EventJson;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * The events of real deliveries (delivered, deferred, bounced, held, released, deleted) in their
 * published JSON form are valid against docs/event-schema.json, carry what the schema says, and
 * read back equal.
 */
class EventSchemaIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    @Test
    void eventsOfRealDeliveriesMatchThePublishedSchema() throws Exception {
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Files.readString(Path.of("../docs/event-schema.json")));
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("RCPT TO:<NOBODY@")) {
                return "550 5.1.1 <nobody@ext.test>: Recipient address rejected: User unknown";
            }
            if (cmd.startsWith("RCPT TO:<LATER@")) {
                return "451 4.7.500 Server busy. Please try again later";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 2.0.0 ok";
        });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())) {
            relay.start();
            String id = relay.server.engine().submit("app@one.test", List.of("ok@ext.test", "nobody@ext.test", "later@ext.test"),
                    "Message-ID: <42@one.test>\r\nSubject: schema\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII))
                    .get(10, TimeUnit.SECONDS);
            List<DeliveryEvent> events = new ArrayList<>();
            while (events.stream().map(DeliveryEvent::status).distinct().count() < 3) {
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e).as("delivered, bounced and deferred events").isNotNull();
                if (e.queueId().equals(id)) {
                    events.add(e);
                }
            }
            relay.server.engine().queue().hold(id);
            relay.server.engine().queue().release(id);
            relay.server.engine().queue().hold(id);
            relay.server.engine().queue().delete(id);
            Set<DeliveryEvent.Status> wanted = EnumSet.of(DeliveryEvent.Status.HELD, DeliveryEvent.Status.RELEASED,
                    DeliveryEvent.Status.DELETED);
            while (!wanted.isEmpty()) {
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e).as("still waiting for " + wanted).isNotNull();
                if (e.queueId().equals(id)) {
                    events.add(e);
                    wanted.remove(e.status());
                }
            }

            for (DeliveryEvent e : events) {
                String json = EventJson.write(e);
                List<Error> errors = schema.validate(new ObjectMapper().readTree(json));
                assertThat(errors).as(json).isEmpty();
                assertThat(EventJson.read(json)).isEqualTo(e);
                assertThat(json).contains("\"version\":1", "\"queue_id\":\"" + id + "\"", "\"message_id\":\"<42@one.test>\"",
                        "\"node\":\"relay.test\"");
            }
            DeliveryEvent delivered = events.stream().filter(e -> e.status() == DeliveryEvent.Status.SENT).findFirst().orElseThrow();
            assertThat(EventJson.write(delivered)).contains("\"event\":\"delivered\"", "\"reply_code\":250",
                    "\"next_hop\":\"[127.0.0.1]:" + upstream.port() + "\"", "\"server\":{\"name\":\"127.0.0.1\",\"address\":\"127.0.0.1\"",
                    "\"attempt\":1", "\"class\":\"\"");
            DeliveryEvent bounced = events.stream().filter(e -> e.status() == DeliveryEvent.Status.BOUNCED).findFirst().orElseThrow();
            assertThat(EventJson.write(bounced)).contains("\"event\":\"bounced\"", "\"recipient\":\"nobody@ext.test\"",
                    "\"reply_code\":550", "\"enhanced_status\":\"5.1.1\"", "\"class\":\"invalid-recipient\"");
            DeliveryEvent deferred = events.stream().filter(e -> e.status() == DeliveryEvent.Status.DEFERRED).findFirst().orElseThrow();
            assertThat(deferred.bounceClass()).isEqualTo("rate-limited");
            assertThat(deferred.delays().setup()).isPositive();
            assertThat(events).filteredOn(e -> e.status() == DeliveryEvent.Status.RELEASED)
                    .allSatisfy(e -> assertThat(e.recipient()).isEqualTo("later@ext.test"));
        }
    }

    @Test
    void theSchemaRefusesWhatIsNotAnEvent() throws Exception {
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Files.readString(Path.of("../docs/event-schema.json")));
        assertThat(schema.validate(new ObjectMapper().readTree("{\"version\":1,\"event\":\"exploded\"}"))).isNotEmpty();
    }
}
