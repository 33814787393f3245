package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.ClusterSettings;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.core.internal.cluster.RedisLink;
import org.relaymta.core.internal.cluster.SharedQuotas;
import org.relaymta.core.internal.quota.Quotas;

/**
 * The shared quota script on a real redis-server, two nodes' worth of clients: a rate and a
 * concurrency cap counted for both together, a limit that delays names itself, and a node that
 * loses Redis counting its share alone.
 */
class SharedQuotasIT {
    @TempDir
    Path temp;

    private RedisServer redis;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private RedisLink a;
    private RedisLink b;

    @AfterEach
    void stop() throws Exception {
        for (RedisLink l : new RedisLink[] {a, b}) {
            if (l != null) {
                l.close();
            }
        }
        timer.shutdownNow();
        if (redis != null) {
            redis.close();
        }
    }

    private ClusterSettings.Redis startRedis() throws Exception {
        redis = RedisServer.start(temp);
        return new ClusterSettings.Redis("127.0.0.1", redis.port, 0, false, Optional.empty(), Optional.empty());
    }

    private static List<RelayLimits.Limit> limit(String value) {
        return List.of(RelayLimits.parse("[smtp.test]:587", value, "relay-limits.cf:1"));
    }

    private static Quotas.Admission ask(Quotas q, List<RelayLimits.Limit> l) throws Exception {
        return q.admit(l, 1).get(5, TimeUnit.SECONDS);
    }

    @Test
    void twoNodesShareOneRateAndOneConcurrencyCap() throws Exception {
        ClusterSettings.Redis where = startRedis();
        a = new RedisLink(where, "a", timer).start();
        b = new RedisLink(where, "b", timer).start();
        assertThat(a.shared()).isTrue();
        SharedQuotas qa = new SharedQuotas(a, Clock.systemUTC(), 2);
        SharedQuotas qb = new SharedQuotas(b, Clock.systemUTC(), 2);

        List<RelayLimits.Limit> rate = limit("messages=4/m");
        int admitted = 0;
        for (int i = 0; i < 4; i++) {
            admitted += ask(i % 2 == 0 ? qa : qb, rate).delay().isEmpty() ? 1 : 0;
        }
        assertThat(admitted).as("the burst, shared by both nodes").isEqualTo(4);
        var delayed = ask(qb, rate).delay().orElseThrow();
        assertThat(delayed.reason()).isEqualTo("relay quota [smtp.test]:587 messages=4/m");
        // The next slot is computed: 15 s after the first (4 per minute), less the time these calls took.
        assertThat(Duration.between(Instant.now(), delayed.until())).isBetween(Duration.ofSeconds(13), Duration.ofSeconds(15));
        assertThat(ask(qa, rate).delay()).isPresent();

        List<RelayLimits.Limit> cap = limit("concurrency=2");
        Quotas.Admission first = ask(qa, cap);
        Quotas.Admission second = ask(qb, cap);
        assertThat(first.delay()).isEmpty();
        assertThat(second.delay()).isEmpty();
        assertThat(ask(qa, cap).delay().orElseThrow().setting()).isEqualTo("concurrency=2");
        assertThat(ask(qb, cap).delay()).isPresent();
        second.release();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Quotas.Admission third;
        do {
            third = ask(qa, cap);   // the release is sent without waiting for it
        } while (third.delay().isPresent() && System.nanoTime() < deadline);
        assertThat(third.delay()).as("a slot node b gave back, taken by node a").isEmpty();
    }

    @Test
    void aNodeThatLosesRedisCountsItsShareAndSharesAgainWhenItIsBack() throws Exception {
        ClusterSettings.Redis where = startRedis();
        a = new RedisLink(where, "a", timer).start();
        SharedQuotas q = new SharedQuotas(a, Clock.systemUTC(), 2);
        redis.stop();
        List<RelayLimits.Limit> rate = limit("messages=4/m");
        // The first answer after Redis went away is already local (a failed command falls back at once).
        int admitted = 0;
        for (int i = 0; i < 4; i++) {
            admitted += ask(q, rate).delay().isEmpty() ? 1 : 0;
        }
        assertThat(a.shared()).isFalse();
        assertThat(admitted).as("half of the burst: this node's share of two").isEqualTo(2);
        assertThat(a.describe()).contains("127.0.0.1:" + where.port());

        redis.restart();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!a.shared() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            a.checkNow();
        }
        assertThat(a.shared()).as("shared again").isTrue();
        // Redis counts from scratch: the whole burst.
        admitted = 0;
        for (int i = 0; i < 5; i++) {
            admitted += ask(q, rate).delay().isEmpty() ? 1 : 0;
        }
        assertThat(admitted).isEqualTo(4);
    }
}
