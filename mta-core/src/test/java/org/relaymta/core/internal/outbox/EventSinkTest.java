package org.relaymta.core.internal.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;

/** Sinks as outbox consumers: retries until the other side takes a batch, drops what it refuses for good, resumes after a restart, and learns of events the outbox's limit cost it. */
class EventSinkTest {
    @TempDir
    Path spool;

    /** A sink that fails while {@code failures} is positive (counting down), permanently when {@code permanent}. */
    private static final class FlakySink implements EventSink {
        final List<List<Long>> batches = new CopyOnWriteArrayList<>();
        final AtomicInteger failures = new AtomicInteger();
        final AtomicInteger tries = new AtomicInteger();
        volatile boolean permanent;
        final String name;

        FlakySink(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String label() {
            return "test " + name;
        }

        @Override
        public int maxBatch() {
            return 3;
        }

        @Override
        public boolean wants(DeliveryEvent event) {
            return event.status() != DeliveryEvent.Status.DEFERRED;
        }

        @Override
        public void deliver(List<DeliveryEvent> batch) throws SinkException {
            tries.incrementAndGet();
            if (failures.getAndUpdate(f -> Math.max(0, f - 1)) > 0) {
                throw new SinkException(permanent ? "HTTP 400" : "HTTP 503", permanent);
            }
            batches.add(batch.stream().map(DeliveryEvent::sequence).toList());
        }

        List<Long> delivered() {
            List<Long> all = new ArrayList<>();
            batches.forEach(all::addAll);
            return all;
        }
    }

    private static DeliveryEvent event(String queueId, DeliveryEvent.Status status) {
        return new DeliveryEvent(queueId, "", "app@one.test", "x@ext.test", status, "[relay.test]:25", "relay.test[192.0.2.1]:25",
                false, 250, "2.0.0", "250 ok", "", 1, DeliveryEvent.Delays.NONE, "", "", "relay.test", Instant.EPOCH,
                Duration.ofMillis(1), queueId + ": to=<x@ext.test>, status=" + status.postfixName(), 0);
    }

    private static void record(Outbox outbox, DeliveryEvent.Status... statuses) {
        for (DeliveryEvent.Status s : statuses) {
            outbox.record(List.of(event("Q", s))).join().settled();
        }
    }

    private static void await(BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("in time").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void aSinkGetsWhatItWantsInOrderInBoundedBatchesAndAfterFailuresEverything() throws Exception {
        Outbox outbox = Outbox.open(spool, () -> { });
        EventFeed feed = new EventFeed(outbox);
        FlakySink sink = new FlakySink("hook");
        sink.failures.set(2);
        SinkRunner runner = new SinkRunner(sink, () -> Duration.ofMillis(1), Clock.systemUTC());
        feed.addSink(runner);
        feed.start();
        record(outbox, DeliveryEvent.Status.SENT, DeliveryEvent.Status.DEFERRED, DeliveryEvent.Status.SENT,
                DeliveryEvent.Status.BOUNCED, DeliveryEvent.Status.SENT, DeliveryEvent.Status.SENT);
        await(() -> sink.delivered().size() == 5);
        assertThat(sink.delivered()).as("in order, the deferral filtered out").containsExactly(1L, 3L, 4L, 5L, 6L);
        assertThat(sink.batches).allSatisfy(b -> assertThat(b).hasSizeLessThanOrEqualTo(3));
        assertThat(runner.status().failures()).isEqualTo(2);
        assertThat(runner.status().failingSince()).isEmpty();
        await(() -> feed.lag(runner) == 0);   // the position moves just after the batch is taken
        feed.close();
        outbox.close();
    }

    @Test
    void aBatchRefusedForGoodIsDroppedAfterThreeTriesAndCounted() throws Exception {
        Outbox outbox = Outbox.open(spool, () -> { });
        EventFeed feed = new EventFeed(outbox);
        FlakySink sink = new FlakySink("hook");
        sink.permanent = true;
        sink.failures.set(SinkRunner.PERMANENT_TRIES);
        SinkRunner runner = new SinkRunner(sink, () -> Duration.ofMillis(1), Clock.systemUTC());
        feed.addSink(runner);
        feed.start();
        record(outbox, DeliveryEvent.Status.SENT);
        await(() -> runner.status().dropped() == 1);
        record(outbox, DeliveryEvent.Status.SENT);
        await(() -> sink.delivered().size() == 1);
        assertThat(sink.delivered()).containsExactly(2L);
        assertThat(runner.status().warnings(Instant.now(), 0)).containsExactly("event sink test hook refused and dropped 1 events");
        feed.close();
        outbox.close();
    }

    @Test
    void aSinkStoppedWhileFailingGetsTheSameEventsAfterARestart() throws Exception {
        Outbox outbox = Outbox.open(spool, () -> { });
        EventFeed feed = new EventFeed(outbox);
        FlakySink down = new FlakySink("hook");
        down.failures.set(Integer.MAX_VALUE);
        feed.addSink(new SinkRunner(down, () -> Duration.ofMillis(50), Clock.systemUTC()));
        feed.start();
        record(outbox, DeliveryEvent.Status.SENT, DeliveryEvent.Status.BOUNCED);
        await(() -> down.tries.get() >= 2);
        feed.close(Duration.ofMillis(100));
        outbox.close(feed.namedPositions());

        Outbox reopened = Outbox.open(spool, () -> { });
        EventFeed again = new EventFeed(reopened);
        FlakySink up = new FlakySink("hook");
        again.addSink(new SinkRunner(up, () -> Duration.ofMillis(1), Clock.systemUTC()));
        again.start();
        await(() -> up.delivered().size() == 2);
        assertThat(up.delivered()).containsExactly(1L, 2L);
        again.close();
        reopened.close();
    }

    @Test
    void pastTheLimitTheOutboxDropsWhatASlowSinkHasNotTakenAndTheSinkIsToldHowMuch() throws Exception {
        Outbox outbox = Outbox.open(spool, () -> { }, 400);
        EventFeed feed = new EventFeed(outbox);
        FlakySink sink = new FlakySink("slow");
        SinkRunner runner = new SinkRunner(sink, () -> Duration.ofMillis(20), Clock.systemUTC());
        feed.addSink(runner);   // at position 0, not started yet: it has taken nothing when the limit is passed
        int total = 0;
        for (int b = 0; b < 44; b++) {   // more than the outbox keeps in memory, so the oldest come from disk
            List<DeliveryEvent> batch = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                batch.add(event("Q" + b, DeliveryEvent.Status.SENT));
            }
            outbox.record(batch).join().settled();
            total += batch.size();
        }
        long before = outbox.sizeOnDisk();
        long limit = before / 4;
        outbox.checkpoint(feed.namedPositions(), limit);
        assertThat(outbox.sizeOnDisk()).as("within the limit").isLessThanOrEqualTo(limit);
        long dropped = outbox.droppedOverLimit();
        assertThat(dropped).isPositive();
        feed.start();
        int all = total;
        await(() -> sink.delivered().contains((long) all));
        assertThat(runner.status().lost()).as("told of the events gone before it read them")
                .isPositive().isLessThanOrEqualTo(dropped);
        assertThat(sink.delivered()).isSorted().doesNotHaveDuplicates();
        assertThat(sink.delivered().size() + runner.status().lost()).as("every event delivered or counted lost").isEqualTo(total);
        assertThat(runner.status().warnings(Instant.now(), 0)).anyMatch(w -> w.contains("lost"));
        feed.close();
        outbox.close();
    }

    @Test
    void backoffDoublesWithJitterUpToTheMaximum() {
        SinkRunner runner = new SinkRunner(new FlakySink("x"), () -> Duration.ofSeconds(60), Clock.systemUTC());
        for (int i = 0; i < 50; i++) {
            assertThat(runner.backoff(1)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
            assertThat(runner.backoff(4)).isBetween(Duration.ofSeconds(4), Duration.ofSeconds(8));
            assertThat(runner.backoff(40)).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
        }
    }
}
