package org.relaymta.core.internal.queue;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.outbox.EventRecorder;
import org.relaymta.core.internal.delivery.DeliveryAgent;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.delivery.DeliveryRequest;
import org.relaymta.core.internal.quota.LocalQuotas;
import org.relaymta.core.internal.quota.Quotas;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolRecovery;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.internal.spool.StoredMessage;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.internal.suppress.NoSuppressions;
import org.relaymta.core.queue.SuppressionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue manager, after Postfix's qmgr: starts what is due, routes each pending recipient with
 * the current config snapshot, groups recipients that share a route into transactions (at most
 * {@code default_destination_recipient_limit} each) and runs them under the {@link
 * DestinationLimiter}. The parts it wires: {@link Scheduler} (when), {@link DestinationLimiter}
 * (how many, and which destinations are suspended), {@link AttemptFinisher} (what an attempt's
 * outcome means), {@link QueueOperations} (operator actions), {@link DeliveryEvents}.
 *
 * <p>An {@link Attempt} runs each message's transactions; no thread waits for a server. A fresh
 * message whose recipients share one route starts on the thread that queued it, with the content
 * still in memory; a waiting message is read from the spool on a queue thread first.
 *
 * <p>Time comes from the injected clock; {@link #runDue()} starts what is due, so tests move a
 * clock instead of sleeping through backoff intervals.
 *
 * <p>Over 400 lines because it is the one place that wires the parts, owns their threads and
 * orders start, recovery and stop; every decision lives in a part.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueManager.class);
    /** Postfix's qmgr lines (from=, removed) that log tools read. */
    static final Logger QMGR_LOG = LoggerFactory.getLogger("org.relaymta.qmgr");

    private final Spool spool;
    private final Supplier<RelayConfig> config;
    private final DeliveryAgent agent;
    private final Clock clock;
    private final QueueIndex index = new QueueIndex();
    private final Scheduler scheduler = new Scheduler();
    private final DestinationLimiter limiter;
    private final DeliveryEvents events;
    private final AttemptFinisher finisher;
    private final EventRecorder recorder;
    private volatile SuppressionList suppressions = NoSuppressions.INSTANCE;
    private volatile Shaper shaper;
    /** Messages waiting for a concurrency slot of a quota key: started when one frees. */
    private final Map<String, Set<String>> waitingForSlot = new ConcurrentHashMap<>();
    private volatile BooleanSupplier receivedWanted = () -> true;
    private final QueueOperations operations;
    private final ScheduledExecutorService timer;
    private final ThreadPoolExecutor workers;
    /** Attempts started and not finished, for a clean stop. */
    private final Set<Attempt> running = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * @param concurrency transactions in delivery at once over all destinations (no thread is held
     *                    by one: up to 8 queue threads read the spool and finish deferred attempts)
     */
    /** Whether {@code received} events are recorded (someone takes them); given before {@link #recover()}. */
    public void receivedEvents(BooleanSupplier wanted) {
        this.receivedWanted = wanted;
    }

    /** The shaping rules' state: asked before each transaction, fed every outcome (given before {@link #recover()}). */
    public void shaping(Shaper shaper) {
        this.shaper = shaper;
        shaper.onChange(events::recordShaping);
    }

    public Shaper shaper() {
        return shaper;
    }

    /** The suppression list: checked before each attempt, fed by hard bounces (given before {@link #recover()}). */
    public void suppressions(SuppressionList list) {
        this.suppressions = list;
        finisher.suppressions(list);
    }

    public QueueManager(Spool spool, Supplier<RelayConfig> config, DeliveryAgent agent, Clock clock, int concurrency,
                        EventRecorder recorder) {
        this(spool, config, agent, clock, concurrency, new LocalQuotas(clock), recorder);
    }

    /**
     * @param quotas   where relay-limits.cf quotas are counted: on this node, or shared through Redis
     * @param recorder the event outbox: every outcome is recorded there before the spool change it belongs to
     */
    public QueueManager(Spool spool, Supplier<RelayConfig> config, DeliveryAgent agent, Clock clock, int concurrency,
                        Quotas quotas, EventRecorder recorder) {
        this.spool = spool;
        this.config = config;
        this.agent = agent;
        this.clock = clock;
        this.limiter = new DestinationLimiter(clock, this::execute, concurrency, quotas);
        quotas.onFreed(this::slotFreed);
        this.recorder = recorder;
        this.events = new DeliveryEvents(clock, recorder, spool::facts, () -> config.get().myhostname());
        this.shaper = new Shaper(clock, () -> config.get().delivery().shaping(),
                () -> config.get().queue().destinationConcurrencyLimit(), "local");
        shaper.onChange(events::recordShaping);
        this.finisher = new AttemptFinisher(spool, config, clock, index, events, this::enqueue);
        this.operations = new QueueOperations(index, spool, clock, events, new QueueOperations.Scheduling() {
            @Override
            public void due(QueueEntry entry, Instant when) {
                scheduler.schedule(entry.id, when);
            }

            @Override
            public void cancel(QueueEntry entry) {
                scheduler.unschedule(entry.id);
            }

            @Override
            public void resumeDestinations() {
                limiter.resumeAll();
            }

            @Override
            public void runDue() {
                QueueManager.this.runDue();
            }
        });
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, named("mta-queue-timer"));
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        int threads = Math.min(concurrency, 8);
        this.workers = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), named("mta-queue"));
        this.workers.allowCoreThreadTimeOut(true);
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread th = new Thread(r, prefix + "-" + n.incrementAndGet());
            th.setDaemon(true);
            return th;
        };
    }

    /**
     * Told of every event on the thread that made its spool change (the metrics, and unit tests of
     * the queue); applications' listeners read the outbox instead ({@code EventFeed}).
     */
    public void addObserver(DeliveryListener observer) {
        events.addObserver(observer);
    }

    /** Operator actions and listings (the engine's {@code queue()}). */
    public QueueActions control() {
        return operations;
    }

    /**
     * Indexes every message in the spool (restart: the spool is the truth) and starts the queue
     * scan. Journal records (never tried) are indexed now; the due times of waiting messages, one
     * small state-file read each, are read by a loader thread while the relay already takes mail.
     * Operator actions wait for it. Returns how many messages the spool holds.
     */
    public int recover() throws IOException {
        long started = System.nanoTime();
        SpoolRecovery recovery = spool.recovery();
        Instant now = clock.instant();
        recordMissingReceived(recovery.journaled());
        for (StoredMessage s : recovery.journaled()) {
            index(s, now, false);
        }
        int waiting = recovery.waitingIds().size();
        index.expect(waiting);
        Thread loader = new Thread(() -> {
            long t0 = System.nanoTime();
            recovery.readWaiting(s -> index(s, now, true), 2, () -> closed);
            // Partial files skipped, or stopped by close(): nobody waits for them.
            index.doneLoading();
            if (waiting > 0) {
                log.info("queue: {} waiting message(s) indexed in {} ms", waiting, (System.nanoTime() - t0) / 1_000_000);
            }
        }, "mta-queue-loader");
        loader.setDaemon(true);
        loader.start();
        timer.scheduleWithFixedDelay(this::runDue, 200, 200, TimeUnit.MILLISECONDS);
        // Throttles step back and suspensions end (and are logged) on time even when no mail asks.
        timer.scheduleWithFixedDelay(() -> shaper.tick(), 1, 1, TimeUnit.SECONDS);
        if (waiting + recovery.journaled().size() > 0) {
            log.info("queue: {} message(s) in the journal, {} waiting in queue files (spool read in {} ms)",
                    recovery.journaled().size(), waiting, (System.nanoTime() - started) / 1_000_000);
        }
        return recovery.journaled().size() + waiting;
    }

    /**
     * Messages accepted just before a crash may have lost their {@code received} events (recorded
     * after the commit, without waiting): those never tried whose event the outbox does not have
     * get it now, before any attempt. A message whose event was kept but has since left the outbox
     * (read by every consumer) gets it a second time: at least once.
     */
    private void recordMissingReceived(List<StoredMessage> journaled) {
        Map<String, SpooledMessage> fresh = new LinkedHashMap<>();
        Instant oldest = null;
        for (StoredMessage s : journaled) {
            if (s.journaled() != null && s.journaled().attempts() == 0 && s.state() != QueueState.HOLD) {
                fresh.put(s.id(), s.journaled());
                oldest = oldest == null || s.arrival().isBefore(oldest) ? s.arrival() : oldest;
            }
        }
        if (fresh.isEmpty() || !receivedWanted.getAsBoolean()) {
            return;
        }
        Set<String> have = recorder.recorded(DeliveryEvent.Status.RECEIVED, fresh.keySet(), oldest);
        List<DeliveryEvent> missing = new ArrayList<>();
        fresh.forEach((id, m) -> {
            if (!have.contains(id)) {
                missing.addAll(events.received(m));
            }
        });
        if (!missing.isEmpty()) {
            events.settled(events.recordNow(missing));
            log.info("queue: received events recorded at start for {} message(s) accepted before the relay stopped",
                    missing.stream().map(DeliveryEvent::queueId).distinct().count());
        }
    }

    private void index(StoredMessage s, Instant now, boolean loading) {
        QueueEntry entry = new QueueEntry(s.id(), s.arrival().toEpochMilli(), s.state(), s.journaled());
        if (loading) {
            index.putLoaded(entry);
        } else {
            index.put(entry);
        }
        if (s.state() != QueueState.HOLD) {
            // New mail and mail that was being delivered at the crash go now; deferred mail keeps its time.
            scheduler.schedule(s.id(), s.state() == QueueState.DEFERRED ? s.nextAttempt() : now);
        }
    }

    /** Queues a newly received message for immediate delivery. */
    public void enqueue(SpooledMessage message) {
        enqueue(message, null);
    }

    /**
     * Queues a message whose content the caller still holds in memory ({@code content}, or null):
     * a first delivery straight away can send it from there instead of reading the spool back.
     * Nothing keeps it after that attempt; the index holds envelopes only.
     */
    public void enqueue(SpooledMessage message, DeliveryRequest.Content content) {
        QMGR_LOG.info("{}: from=<{}>, size={}, nrcpt={} (queue active)", message.id(), message.envelope().sender(),
                message.contentLength(), message.recipients().size());
        if (receivedWanted.getAsBoolean()) {
            events.recordReceived(message);   // numbered now, before any attempt's events
        }
        QueueEntry entry = QueueEntry.of(message);
        index.put(entry);
        submit(entry, content);
    }

    /**
     * Queues a message on hold (header_checks HOLD): saved in the hold state first, then indexed,
     * never tried until an operator releases it.
     */
    public void enqueueHeld(SpooledMessage message, String reason) {
        QMGR_LOG.info("{}: from=<{}>, size={}, nrcpt={} (queue hold: {})", message.id(), message.envelope().sender(),
                message.contentLength(), message.recipients().size(), reason);
        SpooledMessage held;
        try {
            List<DeliveryEvent> received = new ArrayList<>(receivedWanted.getAsBoolean() ? events.received(message) : List.of());
            received.addAll(events.ofPending(message, DeliveryEvent.Status.HELD, "placed on hold", reason));
            EventRecorder.Recorded recorded = events.recordNow(received);
            held = spool.saveState(message.withQueueState(QueueState.HOLD));
            events.settled(recorded);
        } catch (IOException | IllegalStateException e) {
            // It stays in the spool as received; it will be delivered rather than lost.
            QMGR_LOG.error("{}: cannot save the hold: {}; queued for delivery instead", message.id(), e.getMessage());
            enqueue(message, null);
            return;
        }
        index.put(QueueEntry.of(held));
    }

    /** Starts every delivery whose time has come by the clock. */
    public void runDue() {
        for (String id : scheduler.takeDue(clock.millis())) {
            QueueEntry entry = index.get(id);
            if (entry != null) {
                submit(entry, null);
            }
        }
    }

    /** Messages per queue, for the gauges (a message in delivery counts as active). */
    public Map<QueueState, Integer> countByState() {
        return index.countByState();
    }

    /** Arrival of the oldest queued message (epoch milliseconds), or -1 when the queue is empty. */
    public long oldestArrivalMillis() {
        return index.oldestArrivalMillis();
    }

    // ---- attempts ----

    private void submit(QueueEntry entry, DeliveryRequest.Content inMemory) {
        if (closed) {
            return;
        }
        SpooledMessage fresh;
        synchronized (entry) {
            if (!startable(entry)) {
                return;
            }
            SpooledMessage r = entry.resident;
            fresh = r != null && r.attempts() == 0 && entry.state == QueueState.ACTIVE ? r : null;
            if (fresh != null) {
                entry.inFlight = true;
            }
        }
        if (fresh == null) {
            execute(() -> attempt(entry));
        } else {
            Attempt attempt = newAttempt(entry, fresh, inMemory);
            if (!attempt.tryStartAlone()) {
                execute(attempt::next);
            }
        }
    }

    /** Whether an attempt may start now; one asked for while an attempt runs is remembered. Holds the monitor. */
    private static boolean startable(QueueEntry entry) {
        if (entry.removed || entry.state == QueueState.HOLD) {
            return false;
        }
        if (entry.inFlight) {
            entry.rerun = true;
            return false;
        }
        return true;
    }

    private void execute(Runnable attempt) {
        try {
            workers.execute(attempt);
        } catch (RejectedExecutionException e) {
            // shutting down: the message stays in the spool for the next start
        }
    }

    /** Continuations of a running attempt: on a queue thread, or here once those stop (its outcome is still recorded). */
    private void executeOrRun(Runnable work) {
        try {
            workers.execute(work);
        } catch (RejectedExecutionException e) {
            work.run();
        }
    }

    /** An attempt of a waiting message, on a queue thread: read it from the spool and start it. */
    private void attempt(QueueEntry entry) {
        SpooledMessage message;
        synchronized (entry) {
            if (closed || !startable(entry)) {
                return;
            }
            try {
                message = operations.load(entry).orElse(null);
            } catch (IOException e) {
                log.error("queue: cannot read {} from the spool: {}; will retry", entry.id, e.getMessage());
                scheduler.schedule(entry.id, clock.instant().plus(config.get().queue().minimalBackoffTime()));
                return;
            }
            if (message == null) {
                entry.removed = true;
                index.remove(entry);
                return;
            }
            entry.inFlight = true;
        }
        newAttempt(entry, message, null).next();
    }

    private Attempt newAttempt(QueueEntry entry, SpooledMessage message, DeliveryRequest.Content inMemory) {
        DeliveryRequest.Content content = inMemory != null ? inMemory : () -> spool.openContent(message);
        Attempt attempt = new Attempt(entry, message, config.get(), content, waited(message), agent, limiter, finisher,
                this::executeOrRun, this::attemptDone, () -> closed || spool.fenced(), suppressions, shaper);
        running.add(attempt);
        return attempt;
    }

    private void attemptDone(Attempt attempt, QueueEntry entry, Instant due) {
        running.remove(attempt);
        if (attempt.concurrencyKey() != null && due != null) {
            waitingForSlot.computeIfAbsent(attempt.concurrencyKey(), k -> ConcurrentHashMap.newKeySet()).add(entry.id);
        }
        scheduleNext(entry, due);
    }

    /** A quota's concurrency slot came free (here or on another node): what waits for one is due now. */
    private void slotFreed(String key) {
        Set<String> ids = waitingForSlot.remove(key);
        if (ids == null || closed) {
            return;
        }
        Instant now = clock.instant();
        for (String id : ids) {
            QueueEntry entry = index.get(id);
            if (entry != null) {
                scheduler.schedule(id, now);
            }
        }
        execute(this::runDue);
    }

    private double waited(SpooledMessage message) {
        return Math.max(0, Duration.between(message.nextAttempt(), clock.instant()).toMillis() / 1000.0);
    }

    private void scheduleNext(QueueEntry entry, Instant due) {
        if (due == null || closed) {
            return;
        }
        scheduler.schedule(entry.id, due);
        if (!due.isAfter(clock.instant())) {
            runDue();
        }
    }

    /** Stops scheduling, lets running attempts finish up to 10 s; everything else stays spooled. */
    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    public void close(Duration grace) {
        closed = true;
        timer.shutdownNow();
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            // Transactions in progress end with their final reply; their outcome is recorded.
            while (!running.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            workers.shutdown();
            if (!workers.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            workers.shutdownNow();
        }
    }
}
