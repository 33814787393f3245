package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * Three {@code mta run} processes with their spools under one root and one {@code redis-server}:
 * a node killed with 1,000 messages queued has its spool adopted by another within the lease time
 * plus 5 s and every message arrives once; a node stopped ({@code kill -STOP}) past its lease while
 * it delivers is fenced when it continues and delivers nothing more; a restarted node gets its
 * spool back only once the adopter handed it back; a Redis restart makes no spool change hands.
 */
class TakeoverIT {
    private static final int LEASE_SECONDS = 3;

    @TempDir
    Path temp;

    private RedisServer redis;
    private RelayNodes nodes;
    private Wiser upstream;

    @AfterEach
    void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
        if (upstream != null) {
            upstream.stop();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private RelayNodes.Node node(String name, int upstreamPort, boolean await) throws Exception {
        Map<String, String> files = Map.of("postfix-main.cf", "spool_lease_time = " + LEASE_SECONDS + "s\n"
                + "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\nrelay_failure_threshold = 1000\n");
        Map<String, String> env = Map.of("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort,
                "MTA_SPOOL_DIR", temp.resolve("spools").toString(), "MTA_NODE_ID", name, "MTA_SPOOL_TAKEOVER", "on");
        return await ? nodes.start(name, files, env, 3) : nodes.launch(name, files, env, 3);
    }

    private Wiser startUpstream(int port) {
        Wiser w = Wiser.port(port);
        w.start();
        return w;
    }

    /** How often each subject arrived. */
    private static Map<String, Long> arrivals(Wiser w) {
        return w.getMessages().stream().map(TakeoverIT::subject).collect(Collectors.groupingBy(Function.identity(),
                ConcurrentHashMap::new, Collectors.counting()));
    }

    private static String subject(WiserMessage m) {
        try {
            return m.getMimeMessage().getSubject();
        } catch (Exception e) {
            return "?";
        }
    }

    /** Distinct messages that arrived with a subject (RelayNodes.send numbers them) in [from, to). */
    private static long count(Map<String, Long> arrived, int from, int to) {
        return arrived.keySet().stream().filter(s -> s.matches("\\d+") && Integer.parseInt(s) >= from
                && Integer.parseInt(s) < to).count();
    }

    private static String adopterOf(String spool, RelayNodes.Node... candidates) {
        for (RelayNodes.Node n : candidates) {
            if (RelayNodes.health(n.admin()).contains("\"spool\": \"" + spool + "\"")) {
                return n.name();
            }
        }
        return null;
    }

    private static void signal(Process p, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor()).isZero();
    }

    @Test
    void aDeadNodesQueueIsDeliveredByAnotherAndAFencedNodeDeliversNothingMore() throws Exception {
        redis = RedisServer.start(temp);
        nodes = new RelayNodes(temp, redis);
        int port = RelayHarness.freePort();
        RelayNodes.Node a = node("a", port, true);
        RelayNodes.Node b = node("b", port, true);
        RelayNodes.Node c = node("c", port, true);

        // 1,000 messages queued on a while the upstream is down; then a is killed and the upstream comes up.
        RelayNodes.send(a.smtp(), "example.com", 0, 1000, 0);
        RelayNodes.awaitHealth(a, h -> h.contains("\"queue_size\": 1000"), Duration.ofSeconds(30));
        a.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        long killed = System.nanoTime();
        upstream = startUpstream(port);
        await().atMost(Duration.ofSeconds(LEASE_SECONDS + 5)).pollInterval(Duration.ofMillis(100))
                .until(() -> adopterOf("a", b, c) != null);
        double adoptedAfter = (System.nanoTime() - killed) / 1e9;
        String first = adopterOf("a", b, c);
        await().atMost(Duration.ofSeconds(90)).until(() -> count(arrivals(upstream), 0, 1000) >= 1000);
        Thread.sleep(1000);
        Map<String, Long> arrived = arrivals(upstream);
        assertThat(count(arrived, 0, 1000)).as("a's messages delivered by %s, adopted after %.1f s", first, adoptedAfter)
                .isEqualTo(1000);
        assertThat(arrived.values()).as("none twice").allMatch(n -> n == 1);

        // b is stopped past its lease while it delivers: c adopts b's spool; b, continued, is fenced.
        upstream.stop();
        RelayNodes.send(b.smtp(), "b.example.com", 2000, 300, 0);
        RelayNodes.awaitHealth(b, h -> h.contains("\"queue_size\": 300"), Duration.ofSeconds(30));
        upstream = startUpstream(port);
        Wiser second = upstream;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> count(arrivals(second), 2000, 2300) >= 10);
        signal(b.process(), "STOP");
        await().atMost(Duration.ofSeconds(LEASE_SECONDS + 5)).pollInterval(Duration.ofMillis(100))
                .until(() -> RelayNodes.health(c.admin()).contains("\"spool\": \"b\""));
        signal(b.process(), "CONT");
        assertThat(b.process().waitFor(20, TimeUnit.SECONDS)).as("b exits once fenced").isTrue();
        assertThat(b.process().exitValue()).isEqualTo(75);
        String bLog = Files.readString(b.log());
        java.util.regex.Matcher fenced = java.util.regex.Pattern.compile("spool takeover: [^\n]*taken").matcher(bLog);
        assertThat(fenced.find()).as("b says it was fenced").isTrue();
        await().atMost(Duration.ofSeconds(90)).until(() -> count(arrivals(second), 2000, 2300) >= 300);
        Thread.sleep(1000);
        Map<String, Long> bArrived = arrivals(second);
        // Only what b had under way when it stopped may arrive twice: its transactions in flight (at most its
        // destination concurrency, 20) and those it finished but could not record in its spool any more (its log
        // says "cannot remove" for each); c sent those again.
        long refused = Files.readString(b.log()).split("cannot remove", -1).length - 1;
        long twice = bArrived.values().stream().filter(n -> n > 1).count();
        assertThat(twice).as("messages that arrived twice (b refused %d spool changes)", refused).isLessThanOrEqualTo(20 + refused);
        assertThat(bArrived.values()).allMatch(n -> n <= 2);
        // What b logs after it was fenced are what it had under way when it stopped (transactions whose replies waited
        // in its sockets, outcomes recorded but not yet applied): their spool changes are all refused. That it starts
        // nothing new shows at the upstream: only what was under way arrives twice (above).
        String afterFence = bLog.substring(fenced.start());
        long finishedLate = afterFence.split("status=sent", -1).length - 1;
        assertThat((long) afterFence.split("cannot remove", -1).length - 1).as("their spool changes, refused")
                .isGreaterThanOrEqualTo(finishedLate);

        // Redis restarts empty: no spool changes hands (the owners put their leases back first).
        redis.stop();
        redis.restart();
        Thread.sleep(LEASE_SECONDS * 2000L);
        String cluster = RelayNodes.get(c.admin(), "/cluster", c);
        // c adopted b's spool, and a's too (from b, stopped, if b had it): two, and none since.
        assertThat(cluster).contains("\"takeovers\": 2");
        String metrics = RelayNodes.get(c.admin(), "/metrics", null);
        assertThat(metrics).contains("mta_takeover_total 2.0").contains("mta_spool_adopted{spool=\"b\"} 1.0");

        // a starts again: it waits until its adopter hands its (drained) spool back, then runs it.
        RelayNodes.Node a2 = node("a", port, false);
        RelayNodes.awaitHealth(a2, h -> h.contains("\"status\": \"ok\"") && h.contains("\"generation\""), Duration.ofSeconds(30));
        String aLog = Files.readString(a2.log());
        assertThat(aLog).contains("spool takeover: node a runs spool");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(c.log()).contains("spool a handed back"));
        assertThat(RelayNodes.health(c.admin())).doesNotContain("\"spool\": \"a\"");
    }
}
