package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * Delivery events to a webhook across SIGKILLs: an application accepts and delivers 2,000
 * messages and is killed at random moments, its webhook receiver down for part of the run. After
 * the last restart drained the spool, every message the upstream received has its final event at
 * the receiver (at least once, each batch's signature checked), one message's events arrive in
 * their order, and the receiver's distinct (queue id, recipient, final state) are the messages
 * the upstream has, and every acknowledged one among them. A Kafka consumer reads the same stream
 * from a real broker and finds the same final events, in order per message.
 */
class WebhookCrashIT {
    private static final int TOTAL = 2000;
    private static final String KEY = "crash-test-key";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)   // a failure leaves the applications' logs
    Path dir;

    private Process app(String mode) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), WebhookCrashApp.class.getName(),
                dir.toString(), mode, String.valueOf(TOTAL))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("started")) {
            // its log lines
        }
        assertThat(line).as("the application started").isEqualTo("started");
        Path log = dir.resolve("app-" + p.pid() + ".log");   // kept for a failure's diagnosis
        Thread drain = new Thread(() -> {
            try (Writer w = Files.newBufferedWriter(log)) {
                out.transferTo(w);
            } catch (Exception ignored) {
                // the process is gone
            }
        });
        drain.setDaemon(true);
        drain.start();
        return p;
    }

    @Test
    void everyFinalEventReachesTheWebhookAcrossKillsAndAnOutage() throws Exception {
        int port = RelayHarness.freePort();
        Wiser upstream = Wiser.accepter((from, to) -> true).port(port);
        upstream.start();
        Random random = new Random();
        try (WebhookReceiver receiver = WebhookReceiver.http(KEY); KafkaBroker kafka = KafkaBroker.create(dir.resolve("kafka"))) {
            kafka.start();
            Path config = Files.createDirectories(dir.resolve("config"));
            Files.writeString(config.resolve("webhook.key"), KEY + "\n");
            Files.write(config.resolve("postfix-main.cf"), List.of("myhostname = app.test",
                    "relayhost = [127.0.0.1]:" + port, "minimal_backoff_time = 1s", "maximal_backoff_time = 2s",
                    "event_webhooks = http://127.0.0.1:" + receiver.port() + "/events",
                    "event_webhook_secret_file = webhook.key", "event_webhook_batch_limit = 50", "event_retry_maximum = 1s",
                    "event_kafka_bootstrap = " + kafka.bootstrap(), "event_kafka_topic = crash-events"));
            Path acked = dir.resolve("acked.txt");
            int kills = 0;
            for (int run = 0; run < 4 && lines(acked).size() < TOTAL; run++) {
                receiver.answer.set(run == 1 ? 503 : 200);   // down for the whole second run
                Process sending = app("send");
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700 + random.nextInt(2500));
                while (System.nanoTime() < until && lines(acked).size() < TOTAL) {
                    Thread.sleep(10);
                }
                sending.destroyForcibly();
                assertThat(sending.waitFor(10, TimeUnit.SECONDS)).isTrue();
                kills++;
            }
            receiver.answer.set(200);
            while (lines(acked).size() < TOTAL) {
                Process last = app("send");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (lines(acked).size() < TOTAL && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                last.destroyForcibly();
                last.waitFor(10, TimeUnit.SECONDS);
                kills++;
            }
            Process draining = app("drain");
            assertThat(draining.waitFor(180, TimeUnit.SECONDS)).as("the restarted relay drains its spool").isTrue();
            assertThat(draining.exitValue()).as("spool empty, every consumer caught up").isZero();

            assertThat(receiver.badSignatures).hasValue(0);
            Map<String, String> midByQueueId = new HashMap<>();
            for (String l : lines(acked)) {
                String[] p = l.split(" ");
                midByQueueId.put(p[0], p[1]);
            }
            Set<String> upstreamMids = new HashSet<>();
            for (WiserMessage m : List.copyOf(upstream.getMessages())) {
                upstreamMids.add(m.getMimeMessage().getMessageID());
            }
            // Per message: the sequences in the order they first arrived must rise; the final states, distinct.
            Map<String, List<Long>> firstSeen = new LinkedHashMap<>();
            Set<String> finals = new TreeSet<>();
            Map<String, String> midOfFinal = new HashMap<>();
            int repeats = 0;
            Set<Long> seen = new HashSet<>();
            for (JsonObject e : List.copyOf(receiver.events)) {
                long seq = e.get("sequence").getAsLong();
                String qid = e.get("queue_id").getAsString();
                if (!seen.add(seq)) {
                    repeats++;
                    continue;
                }
                firstSeen.computeIfAbsent(qid, k -> new ArrayList<>()).add(seq);
                String event = e.get("event").getAsString();
                if (event.equals("delivered") || event.equals("bounced") || event.equals("expired")) {
                    finals.add(qid + " " + e.get("recipient").getAsString() + " " + event);
                    midOfFinal.put(qid, e.get("message_id").getAsString());
                }
            }
            firstSeen.forEach((qid, seqs) -> assertThat(seqs).as("events of " + qid + " in order").isSorted());
            assertThat(finals).as("only deliveries, one per message").allMatch(f -> f.endsWith(" rcpt@ext.test delivered"));
            assertThat(new TreeSet<>(midOfFinal.values())).as("final events are the messages the upstream has")
                    .isEqualTo(new TreeSet<>(upstreamMids));
            assertThat(finals).hasSize(upstreamMids.size());
            Set<String> ackedWithoutFinal = new TreeSet<>(midByQueueId.keySet());
            ackedWithoutFinal.removeAll(midOfFinal.keySet());
            assertThat(ackedWithoutFinal).as("acknowledged messages without a final event").isEmpty();
            assertThat(upstreamMids.size()).isGreaterThanOrEqualTo(TOTAL);
            // A Kafka consumer reads the same stream: every message's final event, each message's events in order.
            Map<String, List<Long>> kafkaSeen = new LinkedHashMap<>();
            Set<String> kafkaFinals = new TreeSet<>();
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, "crash-test");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
                consumer.subscribe(List.of("crash-events"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                Set<Long> kafkaSequences = new HashSet<>();
                while (kafkaFinals.size() < finals.size() && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        JsonObject e = JsonParser.parseString(r.value()).getAsJsonObject();
                        if (kafkaSequences.add(e.get("sequence").getAsLong())) {
                            kafkaSeen.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e.get("sequence").getAsLong());
                        }
                        if (e.get("event").getAsString().equals("delivered")) {
                            kafkaFinals.add(r.key() + " " + e.get("recipient").getAsString() + " delivered");
                        }
                    }
                }
            }
            assertThat(kafkaFinals).as("Kafka has the same final events as the webhook").isEqualTo(finals);
            kafkaSeen.forEach((qid, seqs) -> assertThat(seqs).as("Kafka: events of " + qid + " in order").isSorted());
            System.out.printf("webhook crash test: %d kills, %d acknowledged, %d delivered, %d events at the receiver in %d "
                    + "batches, %d handed over again%n", kills, midByQueueId.size(), upstreamMids.size(),
                    receiver.events.size(), receiver.batches.get(), repeats);
        } finally {
            upstream.stop();
        }
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.US_ASCII).stream()
                .filter(l -> !l.isBlank() && l.endsWith(l.strip()) && l.contains(" ")).toList() : List.of();
    }
}
