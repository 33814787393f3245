package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.testing.MovedClock;

class SchedulerAndLimiterTest {
    private final MovedClock clock = new MovedClock();

    @Test
    void theSchedulerHandsOutWhatIsDueEarliestFirstAndARescheduleReplacesTheOldTime() {
        Scheduler s = new Scheduler();
        Instant now = clock.instant();
        s.schedule("B", now.plusSeconds(10));
        s.schedule("A", now.plusSeconds(20));
        s.schedule("C", now.plusSeconds(5));
        s.schedule("A", now.plusSeconds(1));
        assertThat(s.size()).isEqualTo(3);
        assertThat(s.takeDue(now.toEpochMilli())).isEmpty();
        assertThat(s.takeDue(now.plusSeconds(9).toEpochMilli())).containsExactly("A", "C");
        s.unschedule("B");
        assertThat(s.takeDue(now.plusSeconds(60).toEpochMilli())).isEmpty();
        assertThat(s.size()).isZero();
    }

    @Test
    void aReloadedConcurrencyLimitAppliesToTheNextDelivery() {
        DestinationLimiter l = new DestinationLimiter(clock, Runnable::run, 100);
        assertThat(l.tryAcquire("d", 1)).isTrue();
        assertThat(l.tryAcquire("d", 1)).isFalse();
        assertThat(l.tryAcquire("d", 3)).as("limit raised by a reload").isTrue();
        assertThat(l.tryAcquire("other", 1)).as("destinations are counted apart").isTrue();
        assertThat(l.inUse("d")).isEqualTo(2);
        l.release("d");
        l.release("d");
        assertThat(l.inUse("d")).isZero();
    }

    @Test
    void aWaitingTransactionStartsWhenASlotFreesAndDestinationsTakeTurnsUnderTheTotalLimit() {
        List<String> started = new ArrayList<>();
        DestinationLimiter l = new DestinationLimiter(clock, Runnable::run, 3);
        l.acquire("d", 2, () -> started.add("d1"));
        l.acquire("d", 2, () -> started.add("d2"));
        l.acquire("d", 2, () -> started.add("d3"));
        l.acquire("e", 2, () -> started.add("e1"));
        l.acquire("e", 2, () -> started.add("e2"));
        l.acquire("f", 2, () -> started.add("f1"));
        assertThat(started).as("d holds its limit of 2, the total of 3 admits one of e").containsExactly("d1", "d2", "e1");
        assertThat(l.waiting()).isEqualTo(3);

        l.release("d");
        assertThat(started).as("the freed d slot goes to d's own waiter first").endsWith("d3");
        l.release("e");
        assertThat(started).as("e's waiter next").endsWith("e2");
        l.release("d");
        assertThat(started).endsWith("f1");
        assertThat(l.waiting()).isZero();
        assertThat(l.inUse("d")).isEqualTo(1);
        assertThat(l.tryAcquire("g", 5)).as("the total is reached").isFalse();
        l.release("f");
        assertThat(l.tryAcquire("g", 5)).isTrue();
    }

    @Test
    void aDestinationWithoutASessionIsSuspendedForTheBackoffThenTriedAgain() {
        DestinationLimiter l = new DestinationLimiter(clock, Runnable::run, 100);
        l.record("d", List.of(FakeAgent.noSession("a@x.test"), FakeAgent.noSession("b@x.test")), Duration.ofSeconds(300));
        assertThat(l.suspension("d")).hasValueSatisfying(s -> assertThat(s.reason()).contains("Connection refused"));
        clock.advance(Duration.ofSeconds(299));
        assertThat(l.suspension("d")).isPresent();
        clock.advance(Duration.ofSeconds(2));
        assertThat(l.suspension("d")).isEmpty();

        l.record("d", List.of(FakeAgent.noSession("a@x.test")), Duration.ofSeconds(300));
        l.record("d", List.of(FakeAgent.deferred("a@x.test")), Duration.ofSeconds(300));
        assertThat(l.suspension("d")).as("a session was made: a 4xx reply does not suspend").isEmpty();
        l.record("d", List.of(FakeAgent.noSession("a@x.test")), Duration.ofSeconds(300));
        l.resumeAll();
        assertThat(l.suspension("d")).isEmpty();
    }
}
