package org.relaymta.core.internal.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.testing.MovedClock;

/** GCRA on this node with a moved clock: the burst, the computed wait, a node's share while Redis is away, concurrency. */
class LocalQuotasTest {
    private final MovedClock clock = new MovedClock();

    private static List<RelayLimits.Limit> limit(String value) {
        return List.of(RelayLimits.parse("[smtp.test]:587", value, "relay-limits.cf:1"));
    }

    @Test
    void aWholePeriodGoesAtOnceThenOnePerInterval() {
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> l = limit("messages=5/s");
        for (int i = 0; i < 5; i++) {
            assertThat(q.admitNow(l, 1).delay()).as("message %d of the burst", i).isEmpty();
        }
        QuotaDelay d = q.admitNow(l, 1).delay().orElseThrow();
        assertThat(d.until()).isEqualTo(clock.instant().plusMillis(200));
        assertThat(d.reason()).isEqualTo("relay quota [smtp.test]:587 messages=5/s");
        clock.advance(Duration.between(clock.instant(), d.until()));
        assertThat(q.admitNow(l, 1).delay()).isEmpty();
        assertThat(q.admitNow(l, 1).delay()).isPresent();
    }

    @Test
    void aNodeTakesItsShareOfEachQuotaWhenItCountsAloneForThree() {
        LocalQuotas q = new LocalQuotas(clock, 3);
        List<RelayLimits.Limit> l = limit("messages=5/s");
        assertThat(q.admitNow(l, 1).delay()).isEmpty();
        // 5/s for three nodes: this one sends one every 600 ms, with a burst of one.
        assertThat(q.admitNow(l, 1).delay().orElseThrow().until()).isEqualTo(clock.instant().plusMillis(600));
        clock.advance(Duration.ofMillis(600));
        assertThat(q.admitNow(l, 1).delay()).isEmpty();

        LocalQuotas ses = new LocalQuotas(clock, 3);
        List<RelayLimits.Limit> fourteen = limit("messages=14/s");
        int burst = 0;
        while (ses.admitNow(fourteen, 1).delay().isEmpty()) {
            burst++;
        }
        assertThat(burst).as("a third of 14, rounded down").isEqualTo(4);
    }

    @Test
    void concurrencyIsHeldUntilReleasedAndSharedOutByNodes() {
        LocalQuotas q = new LocalQuotas(clock, 3);
        List<RelayLimits.Limit> l = limit("concurrency=6");
        Quotas.Admission first = q.admitNow(l, 1);
        Quotas.Admission second = q.admitNow(l, 1);
        assertThat(first.delay()).isEmpty();
        assertThat(second.delay()).isEmpty();
        assertThat(q.admitNow(l, 1).delay().orElseThrow().setting()).isEqualTo("concurrency=6");
        first.release();
        assertThat(q.admitNow(l, 1).delay()).isEmpty();
    }

    @Test
    void aTransactionLargerThanTheBurstGoesAloneOnceTheBucketIsEmpty() {
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> l = limit("recipients=10/m");
        assertThat(q.admitNow(l, 3).delay()).isEmpty();
        // 15 recipients can never fit a burst of 10: it waits until the 3 before it have drained.
        QuotaDelay d = q.admitNow(l, 15).delay().orElseThrow();
        assertThat(d.until()).isEqualTo(clock.instant().plusSeconds(18));
        clock.advance(Duration.between(clock.instant(), d.until()));
        assertThat(q.admitNow(l, 15).delay()).isEmpty();
        // ...and then counts in full: the next recipient waits for 15 x 6 s less the burst.
        assertThat(Duration.between(clock.instant(), q.admitNow(l, 1).delay().orElseThrow().until())).isEqualTo(Duration.ofSeconds(36));
    }

    @Test
    void whenEveryQuotaAppliesTheLongestWaitIsTheReason() {
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> both = List.of(RelayLimits.parse("*", "messages=100/s", "x:1"),
                RelayLimits.parse("account:app", "messages=1/m", "x:2"));
        assertThat(q.admitNow(both, 1).delay()).isEmpty();
        QuotaDelay d = q.admitNow(both, 1).delay().orElseThrow();
        assertThat(d.key()).isEqualTo("account:app");
        assertThat(d.until()).isEqualTo(clock.instant().plusSeconds(60));
    }

    @Test
    void ratesAreCountedWhenTheSessionIsReadyAndConcurrencyBeforeConnecting() {
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> l = limit("messages=2/s, concurrency=2");
        List<String> freed = new java.util.ArrayList<>();
        q.onFreed(freed::add);
        // Before connecting: nothing counted for the rate, a concurrency slot taken.
        Quotas.Admission a = q.admitNow(l, 1, Quotas.Phase.RESERVE);
        Quotas.Admission b = q.admitNow(l, 1, Quotas.Phase.RESERVE);
        assertThat(a.delay()).isEmpty();
        assertThat(b.delay()).isEmpty();
        QuotaDelay third = q.admitNow(l, 1, Quotas.Phase.RESERVE).delay().orElseThrow();
        assertThat(third.concurrency()).isTrue();
        // At the session: the burst of two, then a computed wait (the session may wait for it).
        assertThat(q.admitNow(l, 1, Quotas.Phase.SEND).delay()).isEmpty();
        assertThat(q.admitNow(l, 1, Quotas.Phase.SEND).delay()).isEmpty();
        assertThat(q.admitNow(l, 1, Quotas.Phase.SEND).delay().orElseThrow().until()).isEqualTo(clock.instant().plusMillis(500));
        // A slot given back says so, and the next reservation gets it.
        a.release();
        assertThat(freed).containsExactly("[smtp.test]:587");
        assertThat(q.admitNow(l, 1, Quotas.Phase.RESERVE).delay()).isEmpty();
    }

    @Test
    void aReservationLooksAheadOnlyAsFarAsASessionMayWait() {
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> fast = limit("messages=1/s");
        assertThat(q.admitNow(fast, 1, Quotas.Phase.SEND).delay()).isEmpty();
        // The next slot is 1 s away: within the wait a session may have, so it connects.
        assertThat(q.admitNow(fast, 1, Quotas.Phase.RESERVE).delay()).isEmpty();
        List<RelayLimits.Limit> slow = List.of(RelayLimits.parse("[slow.test]:587", "messages=2/m", "relay-limits.cf:2"));
        q.admitNow(slow, 1, Quotas.Phase.SEND);
        q.admitNow(slow, 1, Quotas.Phase.SEND);
        // 30 s away: no session is opened for it; it waits in the queue.
        QuotaDelay d = q.admitNow(slow, 1, Quotas.Phase.RESERVE).delay().orElseThrow();
        assertThat(d.until()).isEqualTo(clock.instant().plusSeconds(30));
    }

    @Test
    void aWarmupLetsTheDaysVolumeGoAndTheRestWaitsForTheNextDay() {
        MovedClock clock = new MovedClock(java.time.Instant.parse("2026-12-07T09:00:00Z"));
        LocalQuotas q = new LocalQuotas(clock);
        List<RelayLimits.Limit> l = List.of(RelayLimits.parse("account:news@example.com",
                "warmup=3;5, warmup_start=2026-12-07", "relay-limits.cf:1"));
        for (int i = 0; i < 3; i++) {
            assertThat(q.admitNow(l, 1, Quotas.Phase.SEND).delay()).as("message %d of day 1", i).isEmpty();
        }
        QuotaDelay d = q.admitNow(l, 1, Quotas.Phase.SEND).delay().orElseThrow();
        assertThat(d.until()).isEqualTo(java.time.Instant.parse("2026-12-08T00:00:00Z"));
        assertThat(d.reason()).isEqualTo("relay quota account:news@example.com warmup=3;5 (3 on 2026-12-07)");
        // Looking before connecting counts nothing.
        assertThat(q.admitNow(l, 1, Quotas.Phase.RESERVE).delay()).isPresent();
        clock.advance(Duration.ofHours(15).plusSeconds(1));
        int sent = 0;
        while (q.admitNow(l, 1, Quotas.Phase.SEND).delay().isEmpty()) {
            sent++;
        }
        assertThat(sent).as("day 2's volume").isEqualTo(5);
        clock.advance(Duration.ofDays(1));
        for (int i = 0; i < 100; i++) {
            assertThat(q.admitNow(l, 1, Quotas.Phase.SEND).delay()).as("the schedule is over").isEmpty();
        }
    }
}
