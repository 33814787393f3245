package org.relaymta.core.internal.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;

/** The outbox on real files: durable order, checkpoints that wait for the spool, restarts, retention, torn lines. */
class OutboxTest {
    @TempDir
    Path spool;
    private final AtomicInteger spoolSyncs = new AtomicInteger();

    private static DeliveryEvent event(String queueId, String rcpt, DeliveryEvent.Status status) {
        return new DeliveryEvent(queueId, "", "app@one.test", rcpt, status, "[relay.test]:25", "relay.test[192.0.2.1]:25", false,
                250, "2.0.0", "250 ok", "", 1, DeliveryEvent.Delays.NONE, "", "", "relay.test", Instant.EPOCH, Duration.ofMillis(1500),
                queueId + ": to=<" + rcpt + ">, status=" + status.postfixName(), 0);
    }

    private Outbox open() throws Exception {
        return Outbox.open(spool, spoolSyncs::incrementAndGet);
    }

    @Test
    void recordedEventsGetIncreasingSequencesAndReadBackInOrder() throws Exception {
        try (Outbox outbox = open()) {
            EventRecorder.Recorded first = outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT),
                    event("A", "y@ext.test", DeliveryEvent.Status.DEFERRED))).join();
            EventRecorder.Recorded second = outbox.record(List.of(event("B", "z@ext.test", DeliveryEvent.Status.BOUNCED))).join();
            assertThat(first.events()).extracting(DeliveryEvent::sequence).containsExactly(1L, 2L);
            assertThat(second.events()).extracting(DeliveryEvent::sequence).containsExactly(3L);
            assertThat(outbox.position()).isEqualTo(3);
            assertThat(outbox.read(1)).extracting(DeliveryEvent::recipient).containsExactly("y@ext.test", "z@ext.test");
            assertThat(outbox.read(3)).isEmpty();
            DeliveryEvent back = outbox.read(2).get(0);
            assertThat(back).isEqualTo(second.events().get(0));
        }
    }

    @Test
    void aCheckpointWaitsForTheSpoolChangeAndARestartReturnsWhatCameAfterIt() throws Exception {
        Outbox outbox = open();
        EventRecorder.Recorded settled = outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT))).join();
        outbox.record(List.of(event("B", "y@ext.test", DeliveryEvent.Status.SENT))).join();   // its spool change never made
        settled.settled();
        outbox.checkpoint(List.of());
        assertThat(spoolSyncs.get()).as("the spool is synced before the checkpoint moves").isEqualTo(1);
        // no close: the process dies here
        Outbox reopened = open();
        assertThat(reopened.unsettled()).extracting(DeliveryEvent::queueId).containsExactly("B");
        assertThat(reopened.record(List.of(event("C", "z@ext.test", DeliveryEvent.Status.SENT))).join().events().get(0)
                .sequence()).as("numbering goes on after a restart").isEqualTo(3);
        reopened.close();
        outbox.close();
    }

    @Test
    void aTornLastLineIsSkippedAndNumberingGoesOnAfterTheLastWholeEvent() throws Exception {
        Outbox outbox = open();
        outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT))).join();
        Path segment;
        try (Stream<Path> files = Files.list(spool.resolve(Outbox.DIRECTORY))) {
            segment = files.filter(p -> p.toString().endsWith(".log")).findFirst().orElseThrow();
        }
        Files.writeString(segment, "{\"seq\": 2, \"queue_id\": \"B\", \"sen", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        Outbox reopened = open();
        assertThat(reopened.unsettled()).extracting(DeliveryEvent::queueId).containsExactly("A");
        assertThat(reopened.record(List.of(event("C", "z@ext.test", DeliveryEvent.Status.SENT))).join().events().get(0)
                .sequence()).isEqualTo(2);
        assertThat(reopened.read(0)).extracting(DeliveryEvent::queueId).containsExactly("A");
        reopened.close();
        outbox.close();
    }

    @Test
    void oldSegmentsAreDeletedOnceBehindTheCheckpointAndEveryNamedConsumer() throws Exception {
        Outbox outbox = Outbox.open(spool, spoolSyncs::incrementAndGet, 400);
        for (int i = 0; i < 12; i++) {
            outbox.record(List.of(event("M" + i, "x@ext.test", DeliveryEvent.Status.SENT))).join().settled();
        }
        assertThat(segments()).as("about one event per 400-byte segment").hasSizeGreaterThan(5);
        outbox.checkpoint(List.of(3L));
        assertThat(outbox.read(3)).as("what the named consumer at 3 has not read stays").isNotEmpty()
                .first().extracting(DeliveryEvent::sequence).isEqualTo(4L);
        Outbox fresh = Outbox.open(spool, () -> { }, 400);
        assertThat(fresh.read(3)).first().extracting(DeliveryEvent::sequence).isEqualTo(4L);
        outbox.checkpoint(List.of(12L));
        assertThat(segments()).as("only the segment being written is left").hasSize(1);
        fresh.close();
        outbox.close();
    }

    private List<Path> segments() throws Exception {
        try (Stream<Path> files = Files.list(spool.resolve(Outbox.DIRECTORY))) {
            return files.filter(p -> p.toString().endsWith(".log")).toList();
        }
    }

    @Test
    void aNamedListenerGoesOnWhereItWasAfterARestartAndAnUnnamedOneStartsAtTheEnd() throws Exception {
        Outbox outbox = open();
        EventFeed feed = new EventFeed(outbox);
        List<DeliveryEvent> audit = new CopyOnWriteArrayList<>();
        feed.addNamed("audit", audit::add);
        feed.start();
        outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT))).join().settled();
        assertThat(feed.await(Duration.ofSeconds(5))).isTrue();
        assertThat(audit).extracting(DeliveryEvent::queueId).containsExactly("A");
        feed.close(Duration.ofSeconds(1));
        // While the listener is away two more events are recorded.
        outbox.record(List.of(event("B", "x@ext.test", DeliveryEvent.Status.SENT),
                event("C", "x@ext.test", DeliveryEvent.Status.BOUNCED))).join().settled();
        outbox.close();

        Outbox reopened = open();
        EventFeed again = new EventFeed(reopened);
        List<DeliveryEvent> resumed = new CopyOnWriteArrayList<>();
        List<DeliveryEvent> live = new CopyOnWriteArrayList<>();
        again.addNamed("audit", resumed::add);
        again.addListener(live::add);
        again.start();
        reopened.record(List.of(event("D", "x@ext.test", DeliveryEvent.Status.SENT))).join().settled();
        assertThat(again.await(Duration.ofSeconds(5))).isTrue();
        assertThat(resumed).extracting(DeliveryEvent::queueId).containsExactly("B", "C", "D");
        assertThat(live).extracting(DeliveryEvent::queueId).containsExactly("D");
        again.close(Duration.ofSeconds(1));
        reopened.close();
    }

    @Test
    void aListenerThatThrowsDoesNotStopTheOthersOrTheNextEvent() throws Exception {
        try (Outbox outbox = open()) {
            EventFeed feed = new EventFeed(outbox);
            List<String> seen = new ArrayList<>();
            feed.addListener(e -> {
                throw new IllegalStateException("boom");
            });
            feed.addListener(e -> {
                synchronized (seen) {
                    seen.add(e.queueId());
                }
            });
            feed.start();
            outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT))).join().settled();
            outbox.record(List.of(event("B", "x@ext.test", DeliveryEvent.Status.SENT))).join().settled();
            assertThat(feed.await(Duration.ofSeconds(5))).isTrue();
            synchronized (seen) {
                assertThat(seen).containsExactly("A", "B");
            }
            feed.close(Duration.ofSeconds(1));
        }
    }

    @Test
    void aListenerNameMustBeAFileName() {
        assertThatThrownBy(() -> OutboxFiles.checkName("../../etc/passwd")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 to 64 letters");
        assertThat(OutboxFiles.checkName("billing-webhook_2")).isEqualTo("billing-webhook_2");
    }

    @Test
    void listenersHearOfAnEventOnlyOnceItsSpoolChangeIsMade() throws Exception {
        try (Outbox outbox = open()) {
            EventFeed feed = new EventFeed(outbox);
            List<String> seen = new CopyOnWriteArrayList<>();
            feed.addListener(e -> seen.add(e.queueId()));
            feed.start();
            EventRecorder.Recorded recorded = outbox.record(List.of(event("A", "x@ext.test", DeliveryEvent.Status.SENT))).join();
            Thread.sleep(300);   // durable, not settled: the queue does not show it yet, nor do listeners
            assertThat(seen).isEmpty();
            recorded.settled();
            assertThat(feed.await(Duration.ofSeconds(5))).isTrue();
            assertThat(seen).containsExactly("A");
            feed.close(Duration.ofSeconds(1));
        }
    }
}
