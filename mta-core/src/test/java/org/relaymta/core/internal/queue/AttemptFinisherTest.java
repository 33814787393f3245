package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.QueueSettings;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.outbox.EventRecorder;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.RecipientStatus;
import org.relaymta.testing.MovedClock;

/**
 * The end of an attempt on a real spool: outcomes become the saved state only after their events
 * are durable; bounces, expiry, delay warnings, quota holds and operator actions taken meanwhile.
 */
class AttemptFinisherTest {
    private static final QueueSettings DEFAULTS = QueueSettings.postfixDefaults();

    @TempDir
    Path root;
    private final MovedClock clock = new MovedClock();
    private Spool spool;
    private final QueueIndex index = new QueueIndex();
    private final List<SpooledMessage> enqueued = new CopyOnWriteArrayList<>();
    private final HeldRecorder recorder = new HeldRecorder();
    private RelayConfig cfg = config(DEFAULTS);
    private AttemptFinisher finisher;

    /** An outbox that makes events durable when the test says so, and notes when their spool change was settled. */
    static final class HeldRecorder implements EventRecorder {
        final List<CompletableFuture<Recorded>> pending = new ArrayList<>();
        final List<Recorded> heldValues = new ArrayList<>();
        final List<DeliveryEvent> recorded = new ArrayList<>();
        int settled;
        boolean autoComplete;

        @Override
        public synchronized CompletableFuture<Recorded> record(List<DeliveryEvent> events) {
            recorded.addAll(events);
            Recorded r = new Recorded() {
                @Override
                public List<DeliveryEvent> events() {
                    return events;
                }

                @Override
                public void settled() {
                    synchronized (HeldRecorder.this) {
                        settled++;
                    }
                }
            };
            if (autoComplete) {
                return CompletableFuture.completedFuture(r);
            }
            CompletableFuture<Recorded> f = new CompletableFuture<>();
            pending.add(f);
            heldValues.add(r);
            return f;
        }

        void makeDurable() {
            List<CompletableFuture<Recorded>> futures;
            List<Recorded> values;
            synchronized (this) {
                futures = List.copyOf(pending);
                values = List.copyOf(heldValues);
                pending.clear();
                heldValues.clear();
            }
            for (int i = 0; i < futures.size(); i++) {
                futures.get(i).complete(values.get(i));
            }
        }

        synchronized List<DeliveryEvent.Status> statuses() {
            return recorded.stream().map(DeliveryEvent::status).toList();
        }
    }

    private static RelayConfig config(QueueSettings queue) {
        return Snapshots.of(RelaySettings.defaults().defaultRelayHost("[relay.test]:587").hostname("relay.local").queue(queue));
    }

    private static QueueSettings withDelayWarning(Duration d) {
        QueueSettings q = DEFAULTS;
        return new QueueSettings(q.queueRunDelay(), q.minimalBackoffTime(), q.maximalBackoffTime(), q.maximalQueueLifetime(),
                q.bounceQueueLifetime(), d, q.destinationConcurrencyLimit(), q.destinationRecipientLimit(), q.bounceSizeLimit(),
                q.queueMinfree());
    }

    @BeforeEach
    void open() throws Exception {
        spool = Spool.open(root, clock);
        finisher = new AttemptFinisher(spool, () -> cfg, clock, index, new DeliveryEvents(clock, recorder, spool::facts, () -> "relay.test"), enqueued::add);
    }

    @AfterEach
    void close() {
        spool.close();
    }

    private QueueEntry spooled(String sender, String... rcpts) throws Exception {
        SpoolWriter w = spool.create(new Envelope(sender, List.of(rcpts), clock.instant(), ""));
        w.write("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        // Moved out of the journal to its own queue file, as a message that waited once is.
        SpooledMessage m = spool.saveState(w.commit());
        QueueEntry e = QueueEntry.of(m);
        e.inFlight = true;
        index.put(e);
        return e;
    }

    private SpooledMessage message(QueueEntry e) throws Exception {
        return e.resident != null ? e.resident : stored(e.id).orElseThrow();
    }

    /** The message as its queue file has it, if still in the spool. */
    private Optional<SpooledMessage> stored(String id) throws Exception {
        return spool.load(id);
    }

    private static DeliveryOutcome sent(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.SENT, "2.0.0", "250 2.0.0 Ok: queued as X", "relay.test[192.0.2.1]:587",
                "TLSv1.3", 0.1, 0.2);
    }

    private static DeliveryOutcome deferred(String rcpt, String reason) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, "4.4.1", reason, "none", "", 0.1, 0);
    }

    private static DeliveryOutcome bounced(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, "5.1.1",
                "host relay.test[192.0.2.1] said: 550 5.1.1 no such user", "relay.test[192.0.2.1]:587", "", 0.1, 0);
    }

    @Test
    void allSentRemovesTheMessageOnlyOnceTheEventsAreDurable() throws Exception {
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");
        SpooledMessage m = message(e);

        CompletableFuture<Instant> due = finisher.finish(e, m, List.of(sent("a@ext.test"), sent("b@ext.test")), 0);

        assertThat(due).as("waits for the outbox").isNotDone();
        assertThat(stored(e.id)).as("no spool change before the events are durable").isPresent();
        assertThat(index.get(e.id)).isNotNull();
        assertThat(recorder.statuses()).containsExactly(DeliveryEvent.Status.SENT, DeliveryEvent.Status.SENT);

        recorder.makeDurable();

        assertThat(due.join()).as("nothing left to try").isNull();
        assertThat(stored(e.id)).isEmpty();
        assertThat(index.get(e.id)).isNull();
        assertThat(e.removed).isTrue();
        assertThat(e.inFlight).isFalse();
        assertThat(recorder.settled).isEqualTo(1);
        assertThat(enqueued).isEmpty();
    }

    @Test
    void aDeferredRecipientIsSavedWithOneMoreAttemptAndTheBackoff() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");
        clock.advance(Duration.ofMinutes(10));

        Instant due = finisher.finish(e, message(e), List.of(sent("a@ext.test"),
                deferred("b@ext.test", "connect to relay.test[192.0.2.1]:587: Connection refused")), 12.5).join();

        Instant expected = clock.instant().plus(DEFAULTS.backoffFor(Duration.ofMinutes(10)));
        assertThat(due).isEqualTo(expected);
        SpooledMessage saved = stored(e.id).orElseThrow();
        assertThat(saved.attempts()).isEqualTo(1);
        assertThat(saved.nextAttempt()).isEqualTo(expected);
        assertThat(saved.state()).isEqualTo(QueueState.DEFERRED);
        assertThat(saved.recipients()).extracting(r -> r.address() + "=" + r.status())
                .containsExactly("a@ext.test=SENT", "b@ext.test=PENDING");
        assertThat(saved.recipients().get(1).lastReason()).isEqualTo("connect to relay.test[192.0.2.1]:587: Connection refused");
        assertThat(e.state).isEqualTo(QueueState.DEFERRED);
        DeliveryEvent deferredEvent = recorder.recorded.get(1);
        assertThat(deferredEvent.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(deferredEvent.recipient()).isEqualTo("b@ext.test");
        assertThat(deferredEvent.dsn()).isEqualTo("4.4.1");
    }

    @Test
    void aBouncedRecipientGetsTheSenderANoticeQueuedAfterItsEvent() throws Exception {
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");

        CompletableFuture<Instant> due = finisher.finish(e, message(e), List.of(bounced("a@ext.test"),
                deferred("b@ext.test", "greylisted")), 0);
        assertThat(enqueued).as("the notice is queued after the events are durable").isEmpty();
        recorder.makeDurable();
        due.join();

        assertThat(enqueued).hasSize(1);
        SpooledMessage notice = enqueued.get(0);
        assertThat(notice.envelope().sender()).as("no bounce of a bounce").isEmpty();
        assertThat(notice.envelope().recipients()).containsExactly("app@one.test");
        assertThat(stored(e.id).orElseThrow().recipients().get(0).status()).isEqualTo(RecipientStatus.FAILED);
        assertThat(recorder.statuses()).containsExactly(DeliveryEvent.Status.BOUNCED, DeliveryEvent.Status.DEFERRED);
    }

    @Test
    void theNullSendersBounceIsNotAnswered() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("", "a@ext.test");

        assertThat(finisher.finish(e, message(e), List.of(bounced("a@ext.test")), 0).join()).isNull();

        assertThat(enqueued).isEmpty();
        assertThat(stored(e.id)).isEmpty();
    }

    @Test
    void pastTheQueueLifetimePendingRecipientsExpireAndBounce() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");
        clock.advance(Duration.ofDays(5).plusMinutes(1));

        Instant due = finisher.finish(e, message(e), List.of(sent("a@ext.test"), deferred("b@ext.test", "4.4.1 no route")), 0)
                .join();

        assertThat(due).isNull();
        assertThat(stored(e.id)).isEmpty();
        assertThat(recorder.statuses()).containsExactly(DeliveryEvent.Status.SENT, DeliveryEvent.Status.DEFERRED,
                DeliveryEvent.Status.EXPIRED);
        DeliveryEvent expired = recorder.recorded.get(2);
        assertThat(expired.recipient()).isEqualTo("b@ext.test");
        assertThat(expired.dsn()).isEqualTo("4.4.1");
        assertThat(expired.reason()).isEqualTo("message expired after 5d: 4.4.1 no route");
        assertThat(enqueued).hasSize(1);
        assertThat(enqueued.get(0).envelope().recipients()).containsExactly("app@one.test");
    }

    @Test
    void aBounceExpiresAfterTheBounceQueueLifetime() throws Exception {
        recorder.autoComplete = true;
        cfg = config(new QueueSettings(DEFAULTS.queueRunDelay(), DEFAULTS.minimalBackoffTime(), DEFAULTS.maximalBackoffTime(),
                DEFAULTS.maximalQueueLifetime(), Duration.ofDays(1), DEFAULTS.delayWarningTime(),
                DEFAULTS.destinationConcurrencyLimit(), DEFAULTS.destinationRecipientLimit(), DEFAULTS.bounceSizeLimit(),
                DEFAULTS.queueMinfree()));
        QueueEntry bounce = spooled("", "app@one.test");
        QueueEntry mail = spooled("app@one.test", "a@ext.test");
        clock.advance(Duration.ofDays(1).plusSeconds(1));

        assertThat(finisher.finish(bounce, message(bounce), List.of(deferred("app@one.test", "busy")), 0).join()).isNull();
        assertThat(finisher.finish(mail, message(mail), List.of(deferred("a@ext.test", "busy")), 0).join()).isNotNull();

        assertThat(stored(bounce.id)).isEmpty();
        assertThat(stored(mail.id)).isPresent();
    }

    @Test
    void aDelayWarningGoesOutOnceWhenDue() throws Exception {
        recorder.autoComplete = true;
        cfg = config(withDelayWarning(Duration.ofHours(4)));
        QueueEntry e = spooled("app@one.test", "a@ext.test");

        clock.advance(Duration.ofHours(3));
        finisher.finish(e, message(e), List.of(deferred("a@ext.test", "busy")), 0).join();
        assertThat(enqueued).as("not yet four hours").isEmpty();

        clock.advance(Duration.ofHours(2));
        e.inFlight = true;
        finisher.finish(e, message(e), List.of(deferred("a@ext.test", "busy")), 0).join();
        assertThat(enqueued).hasSize(1);
        assertThat(message(e).delayWarned()).isTrue();

        clock.advance(Duration.ofHours(2));
        e.inFlight = true;
        finisher.finish(e, message(e), List.of(deferred("a@ext.test", "busy")), 0).join();
        assertThat(enqueued).as("once per message").hasSize(1);
    }

    @Test
    void aQuotaHoldIsNoFailedAttemptAndIsPublishedOnce() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test");
        Instant slot = clock.instant().plus(Duration.ofSeconds(40));
        AttemptFinisher.QuotaHold hold = new AttemptFinisher.QuotaHold(Set.of("a@ext.test"), slot);
        DeliveryOutcome quota = deferred("a@ext.test", "relay quota: 100 messages per hour reached");

        Instant due = finisher.finish(e, message(e), List.of(quota), 0, hold, Set.of(), null).join();

        assertThat(due).isEqualTo(slot);
        SpooledMessage after = message(e);
        assertThat(after.attempts()).as("a quota hold does not count as an attempt").isZero();
        assertThat(recorder.statuses()).containsExactly(DeliveryEvent.Status.QUOTA_DELAYED);

        e.inFlight = true;
        finisher.finish(e, after, List.of(quota), 0, hold, Set.of(), null).join();
        assertThat(recorder.statuses()).as("the same quota still holding it is not published again")
                .containsExactly(DeliveryEvent.Status.QUOTA_DELAYED);
    }

    @Test
    void aDeleteAskedForDuringTheAttemptRemovesTheMessageAndRecordsTheDeletion() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");
        e.pending = QueueEntry.Pending.DELETE;

        Instant due = finisher.finish(e, message(e), List.of(sent("a@ext.test"), deferred("b@ext.test", "busy")), 0).join();

        assertThat(due).isNull();
        assertThat(stored(e.id)).isEmpty();
        assertThat(recorder.statuses()).containsExactly(DeliveryEvent.Status.SENT, DeliveryEvent.Status.DEFERRED,
                DeliveryEvent.Status.DELETED);
        assertThat(recorder.recorded.get(2).recipient()).as("only the recipient still pending").isEqualTo("b@ext.test");
        assertThat(e.pending).isEqualTo(QueueEntry.Pending.NONE);
    }

    @Test
    void aHoldAskedForDuringTheAttemptHoldsWhatIsLeft() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test", "b@ext.test");
        e.pending = QueueEntry.Pending.HOLD;

        Instant due = finisher.finish(e, message(e), List.of(sent("a@ext.test"), deferred("b@ext.test", "busy")), 0).join();

        assertThat(due).as("held mail is not scheduled").isNull();
        SpooledMessage saved = stored(e.id).orElseThrow();
        assertThat(saved.state()).isEqualTo(QueueState.HOLD);
        assertThat(saved.recipients().get(0).status()).as("what was sent stays sent").isEqualTo(RecipientStatus.SENT);
        assertThat(e.state).isEqualTo(QueueState.HOLD);
        assertThat(recorder.statuses()).endsWith(DeliveryEvent.Status.HELD);
    }

    @Test
    void aRequeueAskedForDuringTheAttemptMakesItDueNow() throws Exception {
        recorder.autoComplete = true;
        QueueEntry e = spooled("app@one.test", "a@ext.test");
        e.pending = QueueEntry.Pending.REQUEUE;

        Instant due = finisher.finish(e, message(e), List.of(deferred("a@ext.test", "busy")), 0).join();

        assertThat(due).isEqualTo(clock.instant());
        assertThat(stored(e.id).orElseThrow().state()).isEqualTo(QueueState.ACTIVE);
    }

    @Test
    void anAttemptThatFailedWithABugIsRetriedAfterTheMinimalBackoff() throws Exception {
        QueueEntry e = spooled("app@one.test", "a@ext.test");

        Instant due = finisher.abandon(e, new IllegalStateException("bug"));

        assertThat(due).isEqualTo(clock.instant().plus(DEFAULTS.minimalBackoffTime()));
        assertThat(stored(e.id)).isPresent();
        assertThat(e.inFlight).isFalse();

        QueueEntry doomed = spooled("app@one.test", "b@ext.test");
        doomed.pending = QueueEntry.Pending.DELETE;
        assertThat(finisher.abandon(doomed, new IllegalStateException("bug"))).isNull();
        assertThat(stored(doomed.id)).as("a pending delete still applies").isEmpty();

        QueueEntry held = spooled("app@one.test", "c@ext.test");
        held.pending = QueueEntry.Pending.HOLD;
        assertThat(finisher.abandon(held, new IllegalStateException("bug"))).isNull();
        assertThat(stored(held.id).orElseThrow().state()).isEqualTo(QueueState.HOLD);
    }

    @Test
    void humanDurationsAsPostfixWritesThem() {
        assertThat(AttemptFinisher.humanDuration(Duration.ofDays(5).plusHours(3))).isEqualTo("5d");
        assertThat(AttemptFinisher.humanDuration(Duration.ofHours(7).plusMinutes(59))).isEqualTo("7h");
        assertThat(AttemptFinisher.humanDuration(Duration.ofSeconds(59))).isEqualTo("59s");
    }
}
