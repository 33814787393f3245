package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * Delivery events to a real Kafka broker (single node, KRaft, from the Kafka artifacts): the relay
 * starts while the broker is not up yet, accepts and delivers mail, and once the broker runs every
 * event arrives; a consumer written here reads each as a record keyed by the queue id whose value
 * is the event's JSON, one message's events in order.
 */
class KafkaSinkIT {
    @TempDir
    java.nio.file.Path temp;

    @Test
    void everyEventReachesTheTopicKeyedByQueueIdInOrderAfterTheBrokerCameUpLate() throws Exception {
        KafkaBroker broker = KafkaBroker.create(temp.resolve("kafka"));
        try (broker; ScriptedSmtpServer up = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("RCPT TO:<NOBODY@")) {
                return "550 5.1.1 user unknown";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 2.0.0 ok";
        });
             RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())
                     .mainCf("event_kafka_bootstrap = " + broker.bootstrap()).mainCf("event_kafka_topic = relay-events")
                     .mainCf("event_retry_maximum = 2s")) {
            relay.start();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                ids.add(relay.server.engine().submit("app@one.test", List.of("r" + i + "@ext.test", "nobody@ext.test"),
                        ("Subject: k" + i + "\r\n\r\nx\r\n").getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS));
            }
            assertThat(relay.server.engine().queue().awaitEmpty(Duration.ofSeconds(30))).isTrue();
            assertThat(relay.server.health().json()).as("the sink waits for the broker").contains("\"lag\"");
            broker.start();

            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, "test");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            Map<String, List<JsonObject>> byKey = new HashMap<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
                consumer.subscribe(List.of("relay-events"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                // The bounces' own events come after their messages': wait for both.
                while ((byKey.size() < 40 || !ids.stream().allMatch(id -> byKey.getOrDefault(id, List.of()).size() >= 4))
                        && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        JsonObject e = JsonParser.parseString(r.value()).getAsJsonObject();
                        assertThat(r.key()).as("the key is the queue id").isEqualTo(e.get("queue_id").getAsString());
                        byKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e);
                    }
                }
            }
            assertThat(byKey.keySet()).as("the messages, and the bounces to their sender").containsAll(ids).hasSize(40);
            for (String id : ids) {
                List<JsonObject> events = byKey.get(id);
                List<Long> sequences = events.stream().map(e -> e.get("sequence").getAsLong()).toList();
                assertThat(sequences).as("one message's events in order").isSorted();
                assertThat(events).extracting(e -> e.get("event").getAsString() + " " + e.get("recipient").getAsString())
                        .as(id).contains("delivered r" + ids.indexOf(id) + "@ext.test", "bounced nobody@ext.test")
                        .filteredOn(s -> s.startsWith("received")).hasSize(2);
            }
            assertThat(relay.server.scrapeMetrics()).containsPattern(
                    "mta_event_sink_events_total\\{outcome=\"delivered\",sink=\"kafka 127.0.0.1:\\d+ topic relay-events\"} 1[0-9]{2}");
            assertThat(relay.nextEvent(DeliveryEvent.Status.BOUNCED, Duration.ofSeconds(1)).bounceClass())
                    .isEqualTo("invalid-recipient");
        }
    }
}
