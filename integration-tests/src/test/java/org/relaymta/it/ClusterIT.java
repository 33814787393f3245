package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;

/**
 * Three relay processes sharing one real Redis ({@code redis-server}, Debian): one quota for the
 * three together, a local fallback of a third each while Redis is down, shared again after it
 * restarts; and a relay hop opened by one node is avoided by the others.
 */
class ClusterIT {
    @TempDir
    Path temp;

    private final List<Wiser> upstreams = new ArrayList<>();
    private RedisServer redis;
    private RelayNodes nodes;

    @AfterEach
    void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
        if (redis != null) {
            redis.close();
        }
        upstreams.forEach(Wiser::stop);
    }

    /** A relay node: its own spool and config directory, the shared Redis. Returns {smtp port, admin port}. */
    private int[] node(String name, String relayHost, String limits, Map<String, String> extra) throws Exception {
        if (nodes == null) {
            nodes = new RelayNodes(temp, redis);
        }
        Map<String, String> files = new HashMap<>(Map.of("postfix-main.cf", "relay_failure_threshold = 2\n"));
        if (limits != null) {
            files.put("relay-limits.cf", limits);
        }
        Map<String, String> env = new HashMap<>(Map.of("DEFAULT_RELAY_HOST", relayHost));
        env.putAll(extra);
        RelayNodes.Node n = nodes.start(name, files, env, 3);
        return new int[] {n.smtp(), n.admin()};
    }

    private static String health(int adminPort) {
        return RelayNodes.health(adminPort);
    }

    private void awaitHealth(int[] node, Predicate<String> wanted, Duration timeout, Path logDir) throws Exception {
        RelayNodes.awaitHealth(new RelayNodes.Node(logDir == null ? "node" : logDir.getFileName().toString(),
                logDir == null ? temp : logDir, node[0], node[1]), wanted, timeout);
    }

    private static void send(int port, int from, int count) throws IOException {
        RelayNodes.send(port, "example.com", from, count, 0);
    }

    /** The arrivals from 2 s after the first on. */
    private static List<Long> afterStart(List<Long> times) {
        long first = times.stream().min(Long::compare).orElseThrow();
        return times.stream().filter(t -> t - first >= 2_000_000_000L).toList();
    }

    private static long maxInWindow(List<Long> times, double seconds) {
        return RelayNodes.maxInWindow(times, seconds);
    }

    @Test
    void threeNodesStayWithinOneQuotaAndFallBackToAThirdEachWithoutRedis() throws Exception {
        redis = RedisServer.start(temp);
        List<Long> arrivals = new CopyOnWriteArrayList<>();
        Wiser upstream = Wiser.accepter((from, rcpt) -> {
            arrivals.add(System.nanoTime());
            return true;
        }).port(RelayHarness.freePort());
        upstream.start();
        upstreams.add(upstream);
        String hop = "[127.0.0.1]:" + upstream.getServer().getPortAllocated();
        String limits = hop + " messages=5/s\n";
        int[][] nodes = {node("a", hop, limits, Map.of()), node("b", hop, limits, Map.of()), node("c", hop, limits, Map.of())};

        // 150 messages at once, 50 through each node.
        List<Thread> feeders = new ArrayList<>();
        List<Throwable> feedErrors = new CopyOnWriteArrayList<>();
        for (int n = 0; n < 3; n++) {
            int port = nodes[n][0];
            int from = n * 50;
            Thread t = new Thread(() -> {
                try {
                    send(port, from, 50);
                } catch (Throwable e) {
                    feedErrors.add(e);
                }
            });
            t.start();
            feeders.add(t);
        }
        for (Thread t : feeders) {
            t.join();
        }
        assertThat(feedErrors).isEmpty();

        // Shared: 5/s for the three together (one burst of 5 at the start): 30 take about 5 s.
        await().atMost(Duration.ofSeconds(60)).until(() -> arrivals.size() >= 30);
        double sharedSeconds = (System.nanoTime() - arrivals.stream().min(Long::compare).orElseThrow()) / 1e9;
        assertThat((double) arrivals.size()).as("delivered in the first %.1f s, all nodes together", sharedSeconds)
                .isBetween(5 * sharedSeconds - 5, 5 + 5 * sharedSeconds + 5);
        // One burst of 5, then 5 per second; the first sessions' set-up in new processes bunches the
        // first two seconds, so windows are counted after them (three nodes each at 5/s: 30 per 2 s).
        assertThat(maxInWindow(afterStart(arrivals), 2.0)).as("most in any 2 s while shared").isLessThanOrEqualTo(13);

        // Redis goes away: mail keeps flowing, each node at a third of the quota; health says degraded.
        redis.stop();
        for (int[] node : nodes) {
            awaitHealth(node, body -> body.contains("\"status\": \"degraded\"") && body.contains("\"counting\": \"local\""),
                    Duration.ofSeconds(10), null);
        }
        int atFallback = arrivals.size();
        long fallbackStart = System.nanoTime();
        // Each node at a third of 5/s: 20 more take about 4 s.
        await().atMost(Duration.ofSeconds(60)).until(() -> arrivals.size() - atFallback >= 20);
        double fallbackRate = (arrivals.size() - atFallback) / ((System.nanoTime() - fallbackStart) / 1e9);
        assertThat(fallbackRate).as("messages per second, three nodes counting locally").isBetween(2.5, 6.5);

        // Redis is back: shared again.
        redis.restart();
        for (int[] node : nodes) {
            awaitHealth(node, body -> body.contains("\"status\": \"ok\"") && body.contains("\"counting\": \"shared\""),
                    Duration.ofSeconds(10), null);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (arrivals.size() < 150 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(arrivals).as("all delivered").hasSize(150);
        assertThat(upstream.getMessages()).hasSize(150);
        long first = arrivals.stream().min(Long::compare).orElseThrow();
        long last = arrivals.stream().max(Long::compare).orElseThrow();
        // 150 at 5/s: about 30 s; a burst of 5 at the start and again when the empty Redis returns.
        assertThat((last - first) / 1e9).as("seconds from the first to the last").isGreaterThan(25.0);
        // Plus a burst of 5 when the restarted (empty) Redis is back. A window that spans the switch holds
        // at most 18: the nodes' local bursts (1 each) + Redis's fresh burst (5) + 2 s at 5/s. The upstream
        // notes each RCPT a little after its slot was counted, so one more may fall inside a window's edge.
        assertThat(maxInWindow(afterStart(arrivals), 2.0)).as("most in any 2 s").isLessThanOrEqualTo(19);
        for (int n = 0; n < 3; n++) {
            Path nodeLog = temp.resolve(new String[] {"a", "b", "c"}[n]).resolve("mta.log");
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(nodeLog)
                    .contains("is back: quotas and relay health are shared again"));
            String log = Files.readString(temp.resolve(new String[] {"a", "b", "c"}[n]).resolve("mta.log"));
            assertThat(log).as("node log").doesNotContain("status=bounced")
                    .contains("quotas are counted on this node (its share of each) until it is back")
                    .contains("is back: quotas and relay health are shared again");
            assertThat(health(nodes[n][1])).contains("\"queue_size\": 0");
        }
    }

    @Test
    void aRelayHopOneNodeFoundDownIsAvoidedByTheOthers() throws Exception {
        redis = RedisServer.start(temp);
        int deadPort = RelayHarness.freePort();
        RelayHealthIT.FlakyRelay refusing = new RelayHealthIT.FlakyRelay(deadPort);   // 421 at the greeting, counted
        Wiser second = Wiser.port(RelayHarness.freePort());
        second.start();
        upstreams.add(second);
        String dead = "[127.0.0.1]:" + deadPort;
        String relayHosts = dead + " [127.0.0.1]:" + second.getServer().getPortAllocated();
        int[] a = node("a", relayHosts, null, Map.of());
        int[] b = node("b", relayHosts, null, Map.of());
        // Node a fails twice on the first hop (the threshold here), opens it, and says so through Redis.
        send(a[0], 0, 2);
        awaitHealth(a, body -> body.contains("\"" + dead + "\": \"open\""), Duration.ofSeconds(20), temp.resolve("a"));
        awaitHealth(b, body -> body.contains("\"" + dead + "\": \"open\""), Duration.ofSeconds(5), temp.resolve("b"));
        // Node b never tries the dead hop: its mail goes straight to the second one.
        send(b[0], 10, 3);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (second.getMessages().size() < 5 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(second.getMessages()).hasSize(5);
        assertThat(refusing.connections.get()).as("connections to the refusing hop, all from node a").isEqualTo(2);
        refusing.close();
    }
}
