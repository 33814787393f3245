package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.ScriptedSmtpServer;
import org.subethamail.wiser.Wiser;

/**
 * Two relay processes and one real {@code redis-server}: what a provider sees of one shared quota
 * (never more than the rate and its burst in any second, because the slot is taken when the
 * session is ready to send), and a provider's "unusual rate" reply throttling both nodes.
 */
class ShapingIT {
    @TempDir
    Path temp;

    private RedisServer redis;
    private RelayNodes nodes;
    private final List<AutoCloseable> upstreams = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
        for (AutoCloseable u : upstreams) {
            u.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** An upstream that notes when each transaction arrives (its RCPT, right after MAIL FROM). */
    private Wiser upstream(List<Long> arrivals) throws java.io.IOException {
        Wiser w = Wiser.accepter((from, rcpt) -> {
            arrivals.add(System.nanoTime());
            return true;
        }).port(RelayHarness.freePort());
        w.start();
        upstreams.add(w::stop);
        return w;
    }

    /**
     * An upstream that notes each transaction when its session reads the MAIL line off the wire: no
     * server framework between (Wiser notes at RCPT, after its handler threads got to it, and bunched
     * them by up to two under 4 MB/s of DATA).
     */
    private int wireUpstream(List<Long> arrivals) throws java.io.IOException {
        ScriptedSmtpServer s = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase();
            if (cmd.startsWith("MAIL")) {
                arrivals.add(System.nanoTime());
                return "250 2.1.0 Ok";
            }
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250-8BITMIME\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.equals("DATA")) {
                return "354 go ahead";
            }
            return cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
        });
        upstreams.add(s);
        return s.port();
    }

    private static Thread feed(int port, String senderDomain, int from, int count, int bodyBytes, List<Throwable> errors) {
        Thread t = new Thread(() -> {
            try {
                RelayNodes.send(port, senderDomain, from, count, bodyBytes);
            } catch (Throwable e) {
                errors.add(e);
            }
        });
        t.start();
        return t;
    }

    @Test
    void twoNodesNeverSendAnUpstreamMoreThanItsRateAndBurstInAnySecond() throws Exception {
        redis = RedisServer.start(temp);
        List<Long> slow = new CopyOnWriteArrayList<>();
        List<Long> fast = new CopyOnWriteArrayList<>();
        List<Long> big = new CopyOnWriteArrayList<>();
        String slowHop = "[127.0.0.1]:" + upstream(slow).getServer().getPortAllocated();
        String fastHop = "[127.0.0.1]:" + upstream(fast).getServer().getPortAllocated();
        String bigHop = "[127.0.0.1]:" + wireUpstream(big);
        Map<String, String> files = Map.of(
                "postfix-relaymap.cf", "@slow.test " + slowHop + "\n@fast.test " + fastHop + "\n@big.test " + bigHop + "\n",
                "relay-limits.cf", slowHop + " messages=5/s\n" + fastHop + " messages=50/s\n" + bigHop + " messages=20/s\n",
                "postfix-main.cf", "message_size_limit = 10240000\n");
        nodes = new RelayNodes(temp, redis);
        RelayNodes.Node a = nodes.start("a", files, Map.of("DEFAULT_RELAY_HOST", fastHop), 2);
        RelayNodes.Node b = nodes.start("b", files, Map.of("DEFAULT_RELAY_HOST", fastHop), 2);

        // 200 messages at 5/s, 200 at 50/s and 100 of 200 KiB at 20/s, half through each node, all fed at once.
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> feeders = new ArrayList<>();
        for (RelayNodes.Node n : List.of(a, b)) {
            int base = n == a ? 0 : 1000;
            feeders.add(feed(n.smtp(), "slow.test", base, 100, 0, errors));
            feeders.add(feed(n.smtp(), "fast.test", base, 100, 0, errors));
            feeders.add(feed(n.smtp(), "big.test", base, 50, 200 * 1024, errors));
        }
        for (Thread t : feeders) {
            t.join();
        }
        assertThat(errors).isEmpty();
        await().atMost(Duration.ofSeconds(120)).until(() -> slow.size() >= 200 && fast.size() >= 200 && big.size() >= 100);

        assertThat(RelayNodes.maxInWindow(slow, 1.0)).as("most at the 5/s upstream in any second").isLessThanOrEqualTo(10);
        assertThat(RelayNodes.maxInWindow(fast, 1.0)).as("most at the 50/s upstream in any second").isLessThanOrEqualTo(100);
        // One message's allowance for the time between the slot's count and the MAIL line's read on a busy machine.
        assertThat(RelayNodes.maxInWindow(big, 1.0)).as("most 200 KiB messages at the 20/s upstream in any second")
                .isLessThanOrEqualTo(41);
        // The quota paces, it does not stop: 200 at 5/s take about 40 s (a burst of 5 first).
        double slowSeconds = (slow.stream().max(Long::compare).orElseThrow() - slow.stream().min(Long::compare).orElseThrow()) / 1e9;
        assertThat(slowSeconds).as("seconds from the first to the last at 5/s").isBetween(38.0, 60.0);
        for (RelayNodes.Node n : List.of(a, b)) {
            RelayNodes.awaitHealth(n, h -> h.contains("\"queue_size\": 0"), Duration.ofSeconds(10));
            assertThat(Files.readString(n.log())).as("node %s log", n.name()).doesNotContain("status=bounced");
        }
    }

    @Test
    void anUnusualRateReplyThrottlesTheDestinationOnBothNodesUntilLifted() throws Exception {
        redis = RedisServer.start(temp);
        List<Long> accepted = new CopyOnWriteArrayList<>();
        AtomicInteger mails = new AtomicInteger();
        ScriptedSmtpServer upstream = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase();
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("MAIL")) {
                int n = mails.incrementAndGet();
                if (n > 20 && n <= 26) {
                    return "421 4.7.28 [127.0.0.1 15] Our system has detected an unusual rate of unsolicited mail originating "
                            + "from your IP address. To protect our users from spam, mail sent from your IP address has been "
                            + "temporarily rate limited. - gsmtp";
                }
                accepted.add(System.nanoTime());
                return "250 2.1.0 Ok";
            }
            if (cmd.startsWith("RCPT")) {
                return "250 2.1.5 Ok";
            }
            if (cmd.equals("DATA")) {
                return "354 go ahead";
            }
            return cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
        });
        upstreams.add(upstream);
        String hop = "[127.0.0.1]:" + upstream.port();
        Map<String, String> files = Map.of(
                "relay-shaping.cf", "# our smarthost words it as Gmail does\nupstream-rate " + hop
                        + " 4.7.28 throttle factor=0.25 quiet=10m\n",
                "postfix-main.cf", "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n");
        nodes = new RelayNodes(temp, redis);
        RelayNodes.Node a = nodes.start("a", files, Map.of("DEFAULT_RELAY_HOST", hop), 2);
        RelayNodes.Node b = nodes.start("b", files, Map.of("DEFAULT_RELAY_HOST", hop), 2);

        // Node a sends fast until the upstream complains: the first 421 throttles the destination.
        RelayNodes.send(a.smtp(), "example.com", 0, 30, 0);
        RelayNodes.awaitHealth(a, h -> h.contains("\"rule\": \"upstream-rate\""), Duration.ofSeconds(30));
        long seenOnA = System.nanoTime();
        RelayNodes.awaitHealth(b, h -> h.contains("\"rule\": \"upstream-rate\""), Duration.ofSeconds(5));
        assertThat((System.nanoTime() - seenOnA) / 1e9).as("seconds until node b follows").isLessThan(1.0);

        JsonObject action = JsonParser.parseString(RelayNodes.get(a.admin(), "/shaping", a).strip()).getAsJsonObject();
        assertThat(action.get("destination").getAsString()).isEqualTo(hop);
        assertThat(action.get("action").getAsString()).isEqualTo("throttle");
        assertThat(action.get("concurrency").getAsInt()).isEqualTo(5);
        double rate = action.get("messages_per_second").getAsDouble();
        // Logged once however many of the in-flight transactions got the same reply.
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(a.log()).contains("throttle started for " + hop));
        String logA = Files.readString(a.log());
        assertThat(logA.split("throttle started for ", -1).length - 1).isEqualTo(1);
        assertThat(logA).contains("by relay-shaping.cf rule upstream-rate").doesNotContain("status=bounced");
        assertThat(RelayNodes.get(a.admin(), "/metrics", null))
                .contains("mta_shaping_active{destination=\"" + hop + "\",rule=\"upstream-rate\"} 1.0");

        // Node b now sends to the throttled destination: the two nodes together stay within the throttled rate.
        int before = accepted.size();
        long throttledFrom = System.nanoTime();
        RelayNodes.send(b.smtp(), "example.com", 100, 20, 0);
        await().atMost(Duration.ofSeconds(60)).until(() -> accepted.size() >= 44);
        List<Long> after = accepted.stream().filter(t -> t >= throttledFrom).toList();
        long bound = 2L * Math.max(1, Math.round(rate));
        assertThat(RelayNodes.maxInWindow(after, 1.0)).as("most in any second at %.2f msg/s (was %d before)", rate, before)
                .isLessThanOrEqualTo(bound);
        // Nothing is lost: the deferred ones go again, throttled.
        for (RelayNodes.Node n : List.of(a, b)) {
            RelayNodes.awaitHealth(n, h -> h.contains("\"queue_size\": 0"), Duration.ofSeconds(30));
            // "Slower, please" is no failing server: neither the hop's circuit breaker nor a dead-destination backoff.
            assertThat(Files.readString(n.log())).doesNotContain("unavailable after repeated failed sessions")
                    .doesNotContain("delivery temporarily suspended");
        }

        // The operator lifts it on one node: both nodes stop throttling.
        Process list = MtaProcessIT.mta(a.dir(), Map.of(), "shaping", "list", "--spool-dir", a.dir().resolve("data/spool").toString())
                .start();
        String table = new String(list.getInputStream().readAllBytes());
        assertThat(list.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(list.exitValue()).as(table).isZero();
        assertThat(table).contains(hop).contains("upstream-rate").contains("throttle").contains("1 action in force");
        Process clear = MtaProcessIT.mta(a.dir(), Map.of(), "shaping", "clear", hop, "--spool-dir",
                a.dir().resolve("data/spool").toString()).start();
        String cleared = new String(clear.getInputStream().readAllBytes());
        assertThat(clear.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(clear.exitValue()).as(cleared).isZero();
        RelayNodes.awaitHealth(a, h -> !h.contains("\"shaping\""), Duration.ofSeconds(5));
        RelayNodes.awaitHealth(b, h -> !h.contains("\"shaping\""), Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(a.log()).contains("throttle lifted by the operator"));
    }

    @Test
    void anApplicationsListenerGetsTheShapingEventWithTheReplyThatCausedIt() throws Exception {
        ScriptedSmtpServer upstream = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase();
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("MAIL")) {
                return "421 4.7.28 [127.0.0.1 15] Our system has detected an unusual rate of unsolicited mail. - gsmtp";
            }
            return cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
        });
        upstreams.add(upstream);
        String hop = "[127.0.0.1]:" + upstream.port();
        Path config = Files.createDirectories(temp.resolve("config"));
        Files.writeString(config.resolve("relay-shaping.cf"), "upstream-rate " + hop + " 4.7.28 throttle factor=0.5 quiet=10m\n");
        List<org.relaymta.core.event.DeliveryEvent> events = new CopyOnWriteArrayList<>();
        try (org.relaymta.core.RelayEngine relay = org.relaymta.core.RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .configDirectory(config, Map.of("DEFAULT_RELAY_HOST", hop, "MTA_HOSTNAME", "relay.test"))
                .listener(events::add).build().start()) {
            String id = relay.submit("app@example.com", List.of("user@example.org"),
                    "Subject: s\r\n\r\nhi\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).get();
            await().atMost(Duration.ofSeconds(20)).until(() -> events.stream()
                    .anyMatch(e -> e.status() == org.relaymta.core.event.DeliveryEvent.Status.SHAPING));
            org.relaymta.core.event.DeliveryEvent shaping = events.stream()
                    .filter(e -> e.status() == org.relaymta.core.event.DeliveryEvent.Status.SHAPING).findFirst().orElseThrow();
            assertThat(shaping.queueId()).isEqualTo(id);
            assertThat(shaping.recipient()).isEqualTo("user@example.org");
            assertThat(shaping.nextHop()).isEqualTo(hop);
            assertThat(shaping.replyCode()).isEqualTo(421);
            assertThat(shaping.dsn()).isEqualTo("4.7.28");
            assertThat(shaping.reason()).startsWith("throttle started for " + hop + " by relay-shaping.cf rule upstream-rate")
                    .contains("said: 421 4.7.28");
            assertThat(org.relaymta.core.event.EventJson.write(shaping)).contains("\"shaping\"");
            // The message itself is deferred (rate-limited), not bounced, and the destination is not suspended for it.
            await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(
                    e -> e.status() == org.relaymta.core.event.DeliveryEvent.Status.DEFERRED && e.queueId().equals(id)));
            assertThat(events).filteredOn(e -> e.status() == org.relaymta.core.event.DeliveryEvent.Status.DEFERRED)
                    .allSatisfy(e -> assertThat(e.bounceClass()).isEqualTo("rate-limited"));
        }
    }
}
