package org.relaymta.it;

import org.relaymta.core.internal.EngineAccess;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.RelayEngine;
import org.relaymta.testing.ScriptedSmtpServer;
import org.subethamail.wiser.Wiser;

/** relay-limits.cf on one node: a message rate spreads mail out without bouncing it; recipients_per_message splits. */
class QuotaIT {
    @TempDir
    Path temp;

    private static byte[] message(int i) {
        return ("From: app@example.com\r\nTo: user@example.org\r\nSubject: " + i + "\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aMessageRateSpreadsABurstOutAndBouncesNothing() throws Exception {
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        String hop = "[127.0.0.1]:" + upstream.getServer().getPortAllocated();
        Path config = Files.createDirectories(temp.resolve("config"));
        Files.writeString(config.resolve("relay-limits.cf"), "# SES sandbox-like\n" + hop + " messages=5/s\n");
        List<Long> sent = new CopyOnWriteArrayList<>();
        Map<String, Integer> deferrals = new ConcurrentHashMap<>();
        List<DeliveryEvent> bounced = new CopyOnWriteArrayList<>();
        try (RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .configDirectory(config, Map.of("DEFAULT_RELAY_HOST", hop, "MTA_HOSTNAME", "relay.test"))
                .listener(e -> {
                    switch (e.status()) {
                        case SENT -> sent.add(System.nanoTime());
                        case QUOTA_DELAYED -> deferrals.merge(e.queueId(), 1, Integer::sum);
                        default -> bounced.add(e);
                    }
                })
                .build().start()) {
            for (int i = 0; i < 30; i++) {
                relay.submit("app@example.com", List.of("user" + i + "@example.org"), message(i)).get();
            }
            assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(30))).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (sent.size() < 30 && System.nanoTime() < deadline) {
                Thread.sleep(10);   // the last event may be published just after the queue empties
            }
            assertThat(bounced).isEmpty();
            assertThat(sent).hasSize(30);
            assertThat(upstream.getMessages()).hasSize(30);
            long first = sent.stream().mapToLong(Long::longValue).min().orElseThrow();
            long last = sent.stream().mapToLong(Long::longValue).max().orElseThrow();
            double spanSeconds = (last - first) / 1e9;
            long firstSecond = sent.stream().filter(t -> t - first < TimeUnit.SECONDS.toNanos(1)).count();
            // One period's worth at once (5), then 5 per second: the last about 5 s after the first.
            assertThat(firstSecond).as("sent in the first second").isLessThanOrEqualTo(11);
            assertThat(spanSeconds).as("seconds from the first to the last").isGreaterThan(4.0);
            assertThat((30 - firstSecond) / spanSeconds).as("rate after the first second").isLessThan(6.0);
            // Each slot was a fraction of a second away: waited for on the session, never held in the queue.
            assertThat(deferrals).isEmpty();
        } finally {
            upstream.stop();
        }
    }

    @Test
    void aSlotFurtherAwayThanASessionWaitsHoldsTheMailInTheQueueOnce() throws Exception {
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        String hop = "[127.0.0.1]:" + upstream.getServer().getPortAllocated();
        Path config = Files.createDirectories(temp.resolve("config"));
        Files.writeString(config.resolve("relay-limits.cf"), hop + " messages=2/m\n");
        Map<String, Integer> deferrals = new ConcurrentHashMap<>();
        List<DeliveryEvent> sent = new CopyOnWriteArrayList<>();
        try (RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .configDirectory(config, Map.of("DEFAULT_RELAY_HOST", hop, "MTA_HOSTNAME", "relay.test"))
                .listener(e -> {
                    switch (e.status()) {
                        case SENT -> sent.add(e);
                        case QUOTA_DELAYED -> deferrals.merge(e.queueId(), 1, Integer::sum);
                        default -> { }
                    }
                })
                .build().start()) {
            for (int i = 0; i < 4; i++) {
                relay.submit("app@example.com", List.of("user" + i + "@example.org"), message(i)).get();
            }
            // Two go at once (the burst); the next slots are 30 and 60 s away: held, saying why.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((sent.size() < 2 || deferrals.size() < 2) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(sent).hasSize(2);
            assertThat(upstream.getMessages()).hasSize(2);
            assertThat(relay.queue().messages()).hasSize(2).allSatisfy(m -> assertThat(m.recipients().get(0).lastReason())
                    .isEqualTo("relay quota " + hop + " messages=2/m"));
            // Each held message was logged (and counted) once, however often it waited.
            Thread.sleep(1000);
            assertThat(deferrals).hasSize(2);
            assertThat(deferrals.values()).allMatch(n -> n == 1);
            assertThat(EngineAccess.internals(relay).metrics().registry().get("mta.quota.delayed").tag("key", hop).counter().count())
                    .isEqualTo(2);
        } finally {
            upstream.stop();
        }
    }

    @Test
    void recipientsPerMessageSplitsTheTransaction() throws Exception {
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 2.1.5 Ok")) {
            String hop = "[127.0.0.1]:" + upstream.port();
            Path config = Files.createDirectories(temp.resolve("config"));
            Files.writeString(config.resolve("relay-limits.cf"), hop + " recipients_per_message=2\n");
            try (RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                    .configDirectory(config, Map.of("DEFAULT_RELAY_HOST", hop, "MTA_HOSTNAME", "relay.test")).build().start()) {
                relay.submit("app@example.com", List.of("a@example.org", "b@example.org", "c@example.org", "d@example.org",
                        "e@example.org"), message(1)).get();
                assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
            }
            assertThat(upstream.received.stream().filter(l -> l.equalsIgnoreCase("DATA"))).hasSize(3);
            assertThat(upstream.received.stream().filter(l -> l.toUpperCase().startsWith("RCPT TO:"))).hasSize(5);
        }
    }
}
