package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.outbox.Outbox;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.queue.QueueState;
import org.relaymta.testing.MovedClock;

/** The queue manager's parts together, with a fake delivery agent and a moved clock: no network, no sleeping through backoff. */
class QueueManagerTest {
    private static final String BODY = "Subject: test\r\nMessage-ID: <m1@one.test>\r\n\r\nHello there.\r\n";

    @TempDir
    Path root;

    private final MovedClock clock = new MovedClock();
    private final FakeAgent agent = new FakeAgent();
    private final BlockingQueue<DeliveryEvent> events = new LinkedBlockingQueue<>();
    private final RelayConfig cfg = Snapshots.of(RelaySettings.defaults().defaultRelayHost("[relay.test]:25").hostname("mx.one.test"));
    private Spool spool;
    private QueueManager queue;
    private QueueActions control;

    @BeforeEach
    void start() throws IOException {
        startQueue();
    }

    private void startQueue() throws IOException {
        spool = Spool.open(root, clock);
        queue = new QueueManager(spool, () -> cfg, agent, clock, 4, Outbox.open(root, spool::sync));
        queue.addObserver(events::add);
        queue.recover();
        control = queue.control();
    }

    @AfterEach
    void stop() {
        agent.ungate();
        queue.close(Duration.ofSeconds(2));
        spool.close();
    }

    private String receive(String... rcpts) throws IOException {
        SpoolWriter w = spool.create(new Envelope("alice@one.test", List.of(rcpts), clock.instant(), "127.0.0.1"));
        w.write(BODY.getBytes(StandardCharsets.US_ASCII));
        SpooledMessage m = w.commit();
        queue.enqueue(m);
        return m.id();
    }

    private DeliveryEvent nextEvent() throws InterruptedException {
        DeliveryEvent e = events.poll(5, TimeUnit.SECONDS);
        assertThat(e).as("a delivery event within 5 s").isNotNull();
        return e;
    }

    private List<SpooledMessage> spoolAfterRestart() throws IOException {
        return Spool.openExisting(root, clock).recover();
    }

    @Test
    void aDeferredMessageIsTriedAgainWhenTheClockReachesItsBackoffAndThenLeavesTheSpool() throws Exception {
        agent.answer = FakeAgent::deferred;
        String id = receive("bob@ext.test");
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(control.message(id).orElseThrow().state()).isEqualTo(QueueState.DEFERRED);

        agent.answer = FakeAgent::sent;
        clock.advance(Duration.ofSeconds(299));
        control.runDue();
        assertThat(events.poll(300, TimeUnit.MILLISECONDS)).as("not due before minimal_backoff_time").isNull();

        clock.advance(Duration.ofSeconds(2));
        control.runDue();
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
        assertThat(spoolAfterRestart()).isEmpty();
        assertThat(agent.attempted).containsExactly("bob@ext.test", "bob@ext.test");
    }

    @Test
    void holdAllWhileDeliveriesRunNeverSendsAMessageTwice() throws Exception {
        agent.gate();
        List<String> ids = List.of(receive("r1@ext.test"), receive("r2@ext.test"), receive("r3@ext.test"),
                receive("r4@ext.test"));
        assertThat(agent.awaitEntered(4)).isTrue();

        ActionResult held = control.apply(QueueAction.HOLD, "ALL");
        assertThat(held.inDelivery()).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(held.done()).isEmpty();

        agent.ungate();
        for (int i = 0; i < 4; i++) {
            assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        }
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).as("sent messages are not kept on hold").isTrue();
        ActionResult released = control.apply(QueueAction.RELEASE, "ALL");
        assertThat(released.count()).isZero();
        control.flush();
        assertThat(events.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(agent.attempted).containsExactlyInAnyOrder("r1@ext.test", "r2@ext.test", "r3@ext.test", "r4@ext.test");
        assertThat(spoolAfterRestart()).isEmpty();
    }

    @Test
    void holdDuringADeliveryThatIsDeferredKeepsTheMessageHeldUntilReleased() throws Exception {
        agent.answer = FakeAgent::deferred;
        agent.gate();
        String id = receive("bob@ext.test");
        assertThat(agent.awaitEntered(1)).isTrue();
        assertThat(control.apply(QueueAction.HOLD, id).inDelivery()).containsExactly(id);
        assertThat(control.message(id).orElseThrow().state()).as("in delivery, shown active").isEqualTo(QueueState.ACTIVE);
        agent.letOneFinish();
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        DeliveryEvent heldEvent = nextEvent();
        assertThat(heldEvent.status()).as("the hold waited for the attempt's end").isEqualTo(DeliveryEvent.Status.HELD);
        assertThat(heldEvent.reason()).isEqualTo("held by operator");
        assertThat(control.message(id).orElseThrow().state()).isEqualTo(QueueState.HOLD);

        clock.advance(Duration.ofHours(2));
        control.flush();
        assertThat(events.poll(300, TimeUnit.MILLISECONDS)).as("held: neither due time nor flush sends it").isNull();
        assertThat(agent.transactions.get()).isEqualTo(1);
        assertThat(spoolAfterRestart()).singleElement().extracting(SpooledMessage::state).isEqualTo(QueueState.HOLD);

        agent.ungate();
        agent.answer = FakeAgent::sent;
        assertThat(control.apply(QueueAction.RELEASE, id).done()).containsExactly(id);
        DeliveryEvent released = nextEvent();
        assertThat(released.status()).isEqualTo(DeliveryEvent.Status.RELEASED);
        assertThat(released.recipient()).isEqualTo("bob@ext.test");
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void deleteDuringADeliveryRemovesTheMessageWhenTheAttemptEnds() throws Exception {
        agent.answer = FakeAgent::deferred;
        agent.gate();
        String id = receive("bob@ext.test");
        assertThat(agent.awaitEntered(1)).isTrue();
        ActionResult deleted = control.apply(QueueAction.DELETE, id);
        assertThat(deleted.inDelivery()).containsExactly(id);
        assertThat(deleted.json()).contains("\"in_delivery\": [\"" + id + "\"]");
        agent.letOneFinish();
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(nextEvent().status()).as("the pending recipient's last word").isEqualTo(DeliveryEvent.Status.DELETED);
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
        assertThat(spoolAfterRestart()).isEmpty();
    }

    @Test
    void anIdThatIsNotQueuedIsReportedAsNotFound() throws Exception {
        ActionResult r = control.apply(QueueAction.HOLD, "0123456789ABCDEF");
        assertThat(r.notFound()).containsExactly("0123456789ABCDEF");
        assertThat(r.count()).isZero();
        assertThat(control.message("0123456789ABCDEF")).isEmpty();
    }

    @Test
    void aRestartReadsDueTimesAndHoldsFromTheSpool() throws Exception {
        agent.answer = FakeAgent::deferred;
        String waiting = receive("bob@ext.test");
        nextEvent();
        String held = receive("carol@ext.test");
        nextEvent();
        assertThat(control.apply(QueueAction.HOLD, held).done()).containsExactly(held);
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.HELD);
        queue.close(Duration.ofSeconds(2));
        spool.close();

        startQueue();
        assertThat(control.size()).isEqualTo(2);
        assertThat(control.message(held).orElseThrow().state()).isEqualTo(QueueState.HOLD);
        SpooledMessage w = control.message(waiting).orElseThrow();
        assertThat(w.attempts()).isEqualTo(1);
        assertThat(w.recipients().get(0).lastReason()).contains("451 4.4.1 try later");

        agent.answer = FakeAgent::sent;
        control.runDue();
        assertThat(events.poll(300, TimeUnit.MILLISECONDS)).as("the deferred one keeps its due time").isNull();
        clock.advance(Duration.ofSeconds(301));
        control.runDue();
        DeliveryEvent sent = nextEvent();
        assertThat(sent.queueId()).isEqualTo(waiting);
        assertThat(sent.status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(events.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(control.messages()).extracting(SpooledMessage::id).containsExactly(held);
    }

    @Test
    void anUnreachableDestinationIsSuspendedAndAFlushTriesItAgain() throws Exception {
        agent.answer = FakeAgent::noSession;
        receive("bob@ext.test");
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        receive("carol@ext.test");
        DeliveryEvent second = nextEvent();
        assertThat(second.reason()).startsWith("delivery temporarily suspended: connect to relay.test");
        assertThat(agent.transactions.get()).as("no connection for the second message").isEqualTo(1);

        agent.answer = FakeAgent::sent;
        assertThat(control.flush()).isEqualTo(2);
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void anExpiredMessageBouncesToItsSenderWithTheOriginalAttached() throws Exception {
        agent.answer = rcpt -> rcpt.equals("bob@ext.test") ? FakeAgent.deferred(rcpt) : FakeAgent.sent(rcpt);
        String id = receive("bob@ext.test");
        assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);

        clock.advance(Duration.ofDays(5).plusMinutes(1));
        control.runDue();
        DeliveryEvent deferred = nextEvent();
        DeliveryEvent expired = nextEvent();
        assertThat(deferred.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(expired.status()).isEqualTo(DeliveryEvent.Status.EXPIRED);
        assertThat(expired.reason()).startsWith("message expired after 5d");
        DeliveryEvent bounce = nextEvent();
        assertThat(bounce.recipient()).isEqualTo("alice@one.test");
        assertThat(bounce.sender()).isEmpty();
        String dsn = new String(agent.contents.get("alice@one.test"), StandardCharsets.UTF_8);
        assertThat(dsn).contains("X-Postfix-Queue-ID: " + id, "Content-Type: message/rfc822", BODY);
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void aRecipientRefusedPermanentlyIsBouncedAtOnceAndTheOthersAreSent() throws Exception {
        agent.answer = rcpt -> rcpt.startsWith("nobody") ? FakeAgent.bounced(rcpt) : FakeAgent.sent(rcpt);
        receive("bob@ext.test", "nobody@ext.test");
        assertThat(List.of(nextEvent().status(), nextEvent().status()))
                .containsExactlyInAnyOrder(DeliveryEvent.Status.SENT, DeliveryEvent.Status.BOUNCED);
        DeliveryEvent bounce = nextEvent();
        assertThat(bounce.recipient()).isEqualTo("alice@one.test");
        assertThat(control.awaitEmpty(Duration.ofSeconds(5))).isTrue();
        assertThat(agent.transactions.get()).as("one transaction for the message, one for the bounce").isEqualTo(2);
    }

    @Test
    void aRestartWithAThousandWaitingMessagesIndexesThemAllAndDeliversEachOnce() throws Exception {
        agent.answer = FakeAgent::noSession;
        int n = 1000;
        for (int i = 0; i < n; i++) {
            receive("r" + i + "@ext.test");
        }
        for (int i = 0; i < n; i++) {
            assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        }
        queue.close(Duration.ofSeconds(2));
        spool.close();
        assertThat(root.resolve("journal")).as("every record moved to its queue file").satisfies(dir ->
                assertThat(Files.list(dir).count()).isLessThanOrEqualTo(1));

        agent.attempted.clear();
        startQueue();
        assertThat(control.size()).isEqualTo(n);
        assertThat(control.messages()).hasSize(n).allSatisfy(m -> assertThat(m.state()).isEqualTo(QueueState.DEFERRED));
        agent.answer = FakeAgent::sent;
        clock.advance(Duration.ofSeconds(301));
        control.runDue();
        for (int i = 0; i < n; i++) {
            assertThat(nextEvent().status()).isEqualTo(DeliveryEvent.Status.SENT);
        }
        assertThat(control.awaitEmpty(Duration.ofSeconds(10))).isTrue();
        assertThat(new HashSet<>(agent.attempted)).hasSize(n);
        assertThat(agent.attempted).hasSize(n);
        assertThat(spoolAfterRestart()).isEmpty();
    }
}
