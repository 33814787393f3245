package org.relaymta.core.queue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.config.Route;
import org.relaymta.config.Router;
import org.relaymta.core.delivery.DeliveryOutcome;
import org.relaymta.core.delivery.DeliveryRequest;
import org.relaymta.core.delivery.SmtpDeliveryAgent;
import org.relaymta.core.spool.CrlfCanonicalizer;
import org.relaymta.core.spool.Envelope;
import org.relaymta.core.spool.QueueState;
import org.relaymta.core.spool.Recipient;
import org.relaymta.core.spool.RecipientStatus;
import org.relaymta.core.spool.Spool;
import org.relaymta.core.spool.SpoolWriter;
import org.relaymta.core.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue manager, after Postfix's qmgr: routes each pending recipient with the current config
 * snapshot, groups recipients that share a route into transactions (at most
 * {@code default_destination_recipient_limit} each), limits concurrent deliveries per destination,
 * suspends a destination that failed for a while, retries deferred mail with Postfix's backoff, and
 * expires and bounces what cannot be delivered. The spool is the truth; the index holds envelopes
 * and recipient states only.
 *
 * <p>Time comes from the injected clock; {@link #runDue()} starts what is due, so tests move a
 * clock instead of sleeping through backoff intervals.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueManager.class);
    private static final Logger deliveryLog = LoggerFactory.getLogger("org.relaymta.delivery");
    private static final String ALL = "ALL";

    private final Spool spool;
    private final Supplier<RelayConfig> config;
    private final SmtpDeliveryAgent agent;
    private final Clock clock;
    private final List<DeliveryListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, SpooledMessage> index = new ConcurrentHashMap<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Map<String, SpooledMessage> deleteRequested = new ConcurrentHashMap<>();
    /** Messages asked to be attempted while their attempt was running. */
    private final Set<String> rerun = ConcurrentHashMap.newKeySet();
    private final ConcurrentSkipListSet<Due> due = new ConcurrentSkipListSet<>(
            Comparator.comparingLong(Due::at).thenComparing(Due::id));
    private final Map<String, Due> dueById = new ConcurrentHashMap<>();
    private final Map<String, Semaphore> destinationSlots = new ConcurrentHashMap<>();
    private final Map<String, DeadDestination> deadDestinations = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final ThreadPoolExecutor workers;
    private volatile boolean closed;

    private record Due(long at, String id) {
    }

    private record DeadDestination(Instant until, String dsn, String reason) {
    }

    public QueueManager(Spool spool, Supplier<RelayConfig> config, SmtpDeliveryAgent agent, Clock clock, int workerThreads) {
        this.spool = spool;
        this.config = config;
        this.agent = agent;
        this.clock = clock;
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, named("mta-queue-timer"));
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        this.workers = new ThreadPoolExecutor(workerThreads, workerThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), named("mta-delivery"));
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

    public void addListener(DeliveryListener listener) {
        listeners.add(listener);
    }

    /** Loads every message in the spool (restart: the spool is the truth) and starts the queue scan. */
    public int recover() throws IOException {
        List<SpooledMessage> messages = spool.recover();
        for (SpooledMessage m : messages) {
            index.put(m.id(), m);
            if (m.state() == QueueState.HOLD) {
                continue;
            }
            // New mail and mail that was being delivered at the crash go now; deferred mail keeps its time.
            schedule(m.id(), m.state() == QueueState.DEFERRED ? m.nextAttempt() : clock.instant());
        }
        timer.scheduleWithFixedDelay(this::runDue, 200, 200, TimeUnit.MILLISECONDS);
        return messages.size();
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
        index.put(message.id(), message);
        submit(message.id(), content);
    }

    /** Starts every delivery whose time has come by the clock. */
    public void runDue() {
        long now = clock.millis();
        Due d;
        while (!due.isEmpty() && (d = due.first()).at() <= now) {
            if (due.remove(d)) {
                dueById.remove(d.id(), d);
                submit(d.id());
            }
        }
    }

    private void schedule(String id, Instant when) {
        if (closed) {
            return;
        }
        Due d = new Due(when.toEpochMilli(), id);
        Due old = dueById.put(id, d);
        if (old != null) {
            due.remove(old);
        }
        due.add(d);
        if (d.at() <= clock.millis()) {
            runDue();
        }
    }

    private void unschedule(String id) {
        Due old = dueById.remove(id);
        if (old != null) {
            due.remove(old);
        }
    }

    private void submit(String id) {
        submit(id, null);
    }

    private void submit(String id, DeliveryRequest.Content inMemory) {
        if (closed) {
            return;
        }
        if (attemptOnCachedSession(id, inMemory)) {
            return;
        }
        submitToWorker(id);
    }

    private void submitToWorker(String id) {
        if (closed) {
            return;
        }
        try {
            workers.execute(() -> attempt(id));
        } catch (RejectedExecutionException e) {
            // shutting down: the message stays in the spool for the next start
        }
    }

    // ---- operator controls (postqueue / postsuper) ----

    /** Every queued message, oldest first. */
    public List<SpooledMessage> messages() {
        List<SpooledMessage> all = new ArrayList<>(index.values());
        all.sort(Comparator.comparing(SpooledMessage::id));
        return all;
    }

    public Optional<SpooledMessage> message(String id) {
        return Optional.ofNullable(index.get(id));
    }

    /** The message content as spooled (CRLF-canonical). */
    public InputStream content(SpooledMessage message) throws IOException {
        return spool.openContent(message);
    }

    public int size() {
        return index.size();
    }

    /** Postfix {@code postqueue -f}: every deferred message is tried now; suspended destinations get another chance. */
    public int flush() {
        deadDestinations.clear();
        int n = 0;
        for (SpooledMessage m : index.values()) {
            if (m.state() != QueueState.HOLD) {
                schedule(m.id(), clock.instant());
                n++;
            }
        }
        return n;
    }

    /** Postfix {@code postsuper -d}: removes messages (ID or ALL) from the queue. Returns how many. */
    public int delete(String idOrAll) throws IOException {
        int n = 0;
        for (String id : select(idOrAll)) {
            SpooledMessage m = index.remove(id);
            if (m == null) {
                continue;
            }
            unschedule(id);
            if (inFlight.contains(id)) {
                deleteRequested.put(id, m);
            } else {
                spool.remove(m);
            }
            log.info("{}: removed by operator", id);
            n++;
        }
        return n;
    }

    /** Postfix {@code postsuper -h}: keeps messages from being delivered until released. */
    public int hold(String idOrAll) throws IOException {
        return changeState(idOrAll, m -> true, QueueState.HOLD, "placed on hold");
    }

    /** Postfix {@code postsuper -H}: releases held messages for delivery now. */
    public int release(String idOrAll) throws IOException {
        return changeState(idOrAll, m -> m.state() == QueueState.HOLD, QueueState.DEFERRED, "released from hold");
    }

    /**
     * Postfix {@code postsuper -r}: routes the messages again with the current configuration and tries
     * them now. (Routing is always done at delivery time here, so this releases and schedules them.)
     */
    public int requeue(String idOrAll) throws IOException {
        deadDestinations.clear();
        return changeState(idOrAll, m -> true, QueueState.ACTIVE, "requeued");
    }

    /** Moves the selected messages to {@code state}, saved in the spool; unless held, they are tried now. */
    private int changeState(String idOrAll, java.util.function.Predicate<SpooledMessage> applies, QueueState state,
                            String what) throws IOException {
        int n = 0;
        for (String id : select(idOrAll)) {
            SpooledMessage current = index.get(id);
            if (current == null || !applies.test(current)) {
                continue;
            }
            SpooledMessage m = current.withQueueState(state);
            if (state != QueueState.HOLD) {
                m = m.withNextAttempt(clock.instant());
            }
            index.put(id, m);
            index.put(id, spool.saveState(m));
            if (state == QueueState.HOLD) {
                unschedule(id);
            } else {
                schedule(id, clock.instant());
            }
            log.info("{}: {}", id, what);
            n++;
        }
        return n;
    }

    private List<String> select(String idOrAll) {
        if (ALL.equals(idOrAll)) {
            return new ArrayList<>(index.keySet());
        }
        return index.containsKey(idOrAll) ? List.of(idOrAll) : List.of();
    }

    // ---- delivery ----

    /**
     * The fast path for the common case, a fresh message whose recipients share one route: its
     * transaction runs on an idle cached session without a delivery thread (no wake-ups while the
     * server answers). Returns false when it does not apply; anything but a clean delivery goes on
     * as a normal attempt on a delivery thread.
     */
    private boolean attemptOnCachedSession(String id, DeliveryRequest.Content inMemory) {
        SpooledMessage message = index.get(id);
        if (message == null || message.attempts() > 0 || message.state() != QueueState.ACTIVE || message.finished()) {
            return false;
        }
        RelayConfig cfg = config.get();
        List<String> rcpts = new ArrayList<>();
        Route route = null;
        for (Recipient r : message.pendingRecipients()) {
            Route ro = Router.route(cfg, message.envelope().sender(), r.address());
            if (route != null && !route.groupingKey().equals(ro.groupingKey())) {
                return false;
            }
            route = ro;
            rcpts.add(r.address());
        }
        if (route == null || rcpts.size() > Math.max(1, cfg.queue().destinationRecipientLimit())) {
            return false;
        }
        String destination = route.groupingKey();
        DeadDestination dead = deadDestinations.get(destination);
        Instant attemptStart = clock.instant();
        if (dead != null && dead.until().isAfter(attemptStart)) {
            return false;
        }
        Semaphore slots = destinationSlots.computeIfAbsent(destination,
                k -> new Semaphore(Math.max(1, cfg.queue().destinationConcurrencyLimit())));
        if (!slots.tryAcquire()) {
            return false;
        }
        if (!inFlight.add(id)) {
            slots.release();
            requestRerun(id);
            return true;
        }
        java.util.concurrent.CompletableFuture<List<DeliveryOutcome>> running;
        try {
            running = agent.deliverOnCachedSession(new DeliveryRequest(id, message.envelope().sender(), rcpts,
                    message.contentLength(), message.eightBit(),
                    inMemory != null ? inMemory : () -> spool.openContent(message), route, cfg));
        } catch (RuntimeException e) {
            log.warn("queue: fast delivery path of {} failed to start: {}", id, e.toString());
            running = null;
        }
        if (running == null) {
            slots.release();
            inFlight.remove(id);
            return false;
        }
        double waited = Math.max(0, Duration.between(message.nextAttempt(), attemptStart).toMillis() / 1000.0);
        running.whenComplete((outcomes, failure) -> {
            slots.release();
            if (failure != null || outcomes == null) {
                // The normal attempt follows at once: it also serves a rerun asked for meanwhile.
                rerun.remove(id);
                endFlight(id);
                submitToWorker(id);
                return;
            }
            try {
                deadDestinations.remove(destination);
                AttemptOutcomes decided = new AttemptOutcomes(message, waited);
                outcomes.forEach(decided::add);
                decided.finish();
            } catch (RuntimeException e) {
                retryAfterBug(id, e);
            } finally {
                endFlight(id);
            }
        });
        return true;
    }

    /** What one attempt decided, recipient by recipient, until it is saved and published. */
    private final class AttemptOutcomes {
        private final SpooledMessage message;
        private final double waited;
        private final Map<String, Recipient> updated = new LinkedHashMap<>();
        private final List<BounceMessage.Failed> failedNow = new ArrayList<>();
        /** Published once the new state is saved, so a listener sees the queue as the event says. */
        private final List<DeliveryEvent> events = new ArrayList<>();

        AttemptOutcomes(SpooledMessage message, double waited) {
            this.message = message;
            this.waited = waited;
            for (Recipient r : message.recipients()) {
                updated.put(r.address(), r);
            }
        }

        void add(DeliveryOutcome o) {
            RecipientStatus status = switch (o.status()) {
                case SENT -> RecipientStatus.SENT;
                case BOUNCED -> RecipientStatus.FAILED;
                case DEFERRED -> RecipientStatus.PENDING;
            };
            updated.put(o.recipient(), updated.get(o.recipient()).with(status, o.dsn(), o.reason()));
            if (o.status() == DeliveryOutcome.Status.BOUNCED) {
                failedNow.add(new BounceMessage.Failed(o.recipient(), o.dsn(), o.reason(), o.relay()));
            }
            events.add(event(message, o.recipient(), toEventStatus(o.status()), o.relay(), o.dsn(), o.reason(),
                    o.tls(), waited, o.setupSeconds(), o.transmitSeconds()));
        }

        void finish() {
            finishAttempt(message, new ArrayList<>(updated.values()), failedNow, events);
        }
    }

    /** Never lose a message to a bug: log it and try again later. */
    private void retryAfterBug(String id, RuntimeException e) {
        log.error("queue: delivery attempt of {} failed unexpectedly; will retry", id, e);
        if (index.containsKey(id)) {
            schedule(id, clock.instant().plus(config.get().queue().minimalBackoffTime()));
        }
    }

    /**
     * Asked to attempt a message whose attempt is still running (a retry that came due while it
     * finished, a flush): it runs again as soon as that attempt ends, so a due time is never lost.
     */
    private void requestRerun(String id) {
        rerun.add(id);
        // The running attempt may have ended in between; whoever takes the request submits it.
        if (!inFlight.contains(id) && rerun.remove(id)) {
            submit(id);
        }
    }

    /** An attempt is over: operator deletes asked for meanwhile happen now, and a requested rerun starts. */
    private void endFlight(String id) {
        inFlight.remove(id);
        SpooledMessage deleted = deleteRequested.remove(id);
        if (deleted != null) {
            removeQuietly(deleted, id);
        }
        if (rerun.remove(id)) {
            submit(id);
        }
    }

    /** One delivery attempt of one message: all its pending recipients, grouped by route. */
    void attempt(String id) {
        if (closed) {
            return;
        }
        if (!inFlight.add(id)) {
            requestRerun(id);
            return;
        }
        try {
            SpooledMessage message = index.get(id);
            if (message == null || message.finished() || message.state() == QueueState.HOLD) {
                return;
            }
            Instant attemptStart = clock.instant();
            double waited = Math.max(0, Duration.between(message.nextAttempt(), attemptStart).toMillis() / 1000.0);
            RelayConfig cfg = config.get();
            Map<String, List<String>> groups = new LinkedHashMap<>();
            Map<String, Route> routes = new LinkedHashMap<>();
            for (Recipient r : message.pendingRecipients()) {
                Route route = Router.route(cfg, message.envelope().sender(), r.address());
                String key = route.groupingKey();
                routes.putIfAbsent(key, route);
                groups.computeIfAbsent(key, k -> new ArrayList<>()).add(r.address());
            }
            AttemptOutcomes decided = new AttemptOutcomes(message, waited);
            int limit = Math.max(1, cfg.queue().destinationRecipientLimit());
            for (Map.Entry<String, List<String>> group : groups.entrySet()) {
                List<String> rcpts = group.getValue();
                for (int i = 0; i < rcpts.size(); i += limit) {
                    List<String> chunk = rcpts.subList(i, Math.min(rcpts.size(), i + limit));
                    DeliveryRequest request = new DeliveryRequest(id, message.envelope().sender(), chunk,
                            message.contentLength(), message.eightBit(), () -> spool.openContent(message),
                            routes.get(group.getKey()), cfg);
                    deliver(group.getKey(), request, cfg).forEach(decided::add);
                }
            }
            decided.finish();
        } catch (RuntimeException e) {
            retryAfterBug(id, e);
        } finally {
            endFlight(id);
        }
    }

    /** Delivers one transaction under the destination's concurrency limit, unless the destination is suspended. */
    private List<DeliveryOutcome> deliver(String destination, DeliveryRequest request, RelayConfig cfg) {
        DeadDestination dead = deadDestinations.get(destination);
        if (dead != null && dead.until().isAfter(clock.instant())) {
            List<DeliveryOutcome> suspended = new ArrayList<>();
            for (String rcpt : request.recipients()) {
                suspended.add(new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, dead.dsn(),
                        "delivery temporarily suspended: " + dead.reason(), "none", "", 0, 0));
            }
            return suspended;
        }
        Semaphore slots = destinationSlots.computeIfAbsent(destination,
                k -> new Semaphore(Math.max(1, cfg.queue().destinationConcurrencyLimit())));
        slots.acquireUninterruptibly();
        List<DeliveryOutcome> outcomes;
        try {
            outcomes = agent.deliver(request);
        } finally {
            slots.release();
        }
        boolean noSession = outcomes.stream().allMatch(o -> o.status() == DeliveryOutcome.Status.DEFERRED
                && o.relay().equals("none"));
        if (noSession && !outcomes.isEmpty()) {
            // Like Postfix: a destination that cannot be reached is not hammered by every queued message.
            DeliveryOutcome first = outcomes.get(0);
            deadDestinations.put(destination, new DeadDestination(
                    clock.instant().plus(cfg.queue().minimalBackoffTime()), first.dsn(), first.reason()));
        } else {
            deadDestinations.remove(destination);
        }
        return outcomes;
    }

    private void finishAttempt(SpooledMessage message, List<Recipient> recipients, List<BounceMessage.Failed> failedNow,
                               List<DeliveryEvent> events) {
        RelayConfig cfg = config.get();
        Instant now = clock.instant();
        Duration age = Duration.between(message.envelope().arrival(), now);
        boolean pending = recipients.stream().anyMatch(r -> r.status() == RecipientStatus.PENDING);
        List<BounceMessage.Failed> toBounce = new ArrayList<>(failedNow);
        if (pending && age.compareTo(lifetimeFor(message, cfg)) >= 0) {
            List<Recipient> expired = new ArrayList<>();
            for (Recipient r : recipients) {
                if (r.status() == RecipientStatus.PENDING) {
                    String dsn = r.dsn().isEmpty() ? "4.4.7" : r.dsn();
                    String reason = "message expired after " + humanDuration(age) + ": " + r.lastReason();
                    expired.add(r.with(RecipientStatus.FAILED, dsn, reason));
                    toBounce.add(new BounceMessage.Failed(r.address(), dsn, reason, "none"));
                    events.add(event(message, r.address(), DeliveryEvent.Status.EXPIRED, "none", dsn, reason, "", 0, 0, 0));
                } else {
                    expired.add(r);
                }
            }
            recipients = expired;
            pending = false;
        }
        SpooledMessage next = message.withState(recipients, message.attempts() + 1, now.plus(cfg.queue().backoffFor(age)));
        if (!toBounce.isEmpty()) {
            notifySender(next, BounceMessage.Kind.FAILED, toBounce, cfg);
        }
        if (pending && !next.delayWarned() && !cfg.queue().delayWarningTime().isZero()
                && age.compareTo(cfg.queue().delayWarningTime()) >= 0) {
            List<BounceMessage.Failed> delayed = new ArrayList<>();
            for (Recipient r : recipients) {
                if (r.status() == RecipientStatus.PENDING) {
                    delayed.add(new BounceMessage.Failed(r.address(), r.dsn().isEmpty() ? "4.0.0" : r.dsn(),
                            r.lastReason(), "none"));
                }
            }
            notifySender(next, BounceMessage.Kind.DELAYED, delayed, cfg);
            next = next.withDelayWarned();
        }
        if (!pending) {
            SpooledMessage stored = index.remove(message.id());
            removeQuietly(stored == null ? next : next.withLocationOf(stored), message.id());
            events.forEach(this::publish);
            return;
        }
        SpooledMessage latest = index.get(message.id());
        if (latest == null) {
            events.forEach(this::publish);
            return;
        }
        // An operator may have held it (and so moved it out of the journal) during the attempt.
        next = next.withLocationOf(latest);
        next = next.withQueueState(latest.state() == QueueState.HOLD ? QueueState.HOLD : QueueState.DEFERRED);
        // A shutdown interrupts running deliveries; the outcome is still worth recording, and an
        // interrupted thread cannot write a file (ClosedByInterruptException).
        boolean interrupted = Thread.interrupted();
        try {
            next = spool.saveState(next);
        } catch (IOException e) {
            // The message file is intact; losing the state only repeats deliveries.
            log.error("queue: cannot save state of {}: {}", message.id(), e.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        index.put(message.id(), next);
        events.forEach(this::publish);
        if (next.state() != QueueState.HOLD) {
            schedule(message.id(), next.nextAttempt());
        }
    }

    /** Queues a DSN to the envelope sender; never for the null sender (no bounce of a bounce). */
    private void notifySender(SpooledMessage message, BounceMessage.Kind kind, List<BounceMessage.Failed> recipients,
                              RelayConfig cfg) {
        String sender = message.envelope().sender();
        if (sender.isEmpty()) {
            log.info("{}: {} notification for the null sender not sent ({} recipient(s))", message.id(),
                    kind == BounceMessage.Kind.FAILED ? "bounce" : "delay", recipients.size());
            return;
        }
        try (InputStream original = new BufferedInputStream(spool.openContent(message))) {
            byte[] dsn = BounceMessage.build(kind, cfg.myhostname(), message.id(), sender, message.envelope().arrival(),
                    clock.instant(), recipients, original);
            Envelope envelope = new Envelope("", List.of(sender), clock.instant(), "");
            SpoolWriter writer = spool.create(envelope);
            try {
                CrlfCanonicalizer out = new CrlfCanonicalizer(writer);
                out.write(dsn);
                out.finish();
                SpooledMessage bounce = writer.commit();
                log.info("{}: sender {} notification: {}", message.id(),
                        kind == BounceMessage.Kind.FAILED ? "non-delivery" : "delay", bounce.id());
                enqueue(bounce);
            } catch (IOException | RuntimeException e) {
                writer.abort();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            log.error("{}: cannot create the {} notification to {}: {}", message.id(),
                    kind == BounceMessage.Kind.FAILED ? "non-delivery" : "delay", sender, e.getMessage());
        }
    }

    private void removeQuietly(SpooledMessage message, String id) {
        if (message == null) {
            return;
        }
        try {
            spool.remove(message);
        } catch (IOException e) {
            log.error("queue: cannot remove {} from the spool: {}", id, e.getMessage());
        }
    }

    private static String humanDuration(Duration d) {
        if (d.toDays() >= 1) {
            return d.toDays() + "d";
        }
        if (d.toHours() >= 1) {
            return d.toHours() + "h";
        }
        return d.toSeconds() + "s";
    }

    private static Duration lifetimeFor(SpooledMessage message, RelayConfig cfg) {
        return message.envelope().sender().isEmpty() ? cfg.queue().bounceQueueLifetime() : cfg.queue().maximalQueueLifetime();
    }

    private static DeliveryEvent.Status toEventStatus(DeliveryOutcome.Status s) {
        return switch (s) {
            case SENT -> DeliveryEvent.Status.SENT;
            case DEFERRED -> DeliveryEvent.Status.DEFERRED;
            case BOUNCED -> DeliveryEvent.Status.BOUNCED;
        };
    }

    private DeliveryEvent event(SpooledMessage message, String rcpt, DeliveryEvent.Status status, String relay, String dsn,
                                String reason, String tls, double inQueue, double setup, double transmit) {
        Duration delay = Duration.between(message.envelope().arrival(), clock.instant());
        double total = Math.max(0, delay.toMillis() / 1000.0);
        double beforeQueue = Math.max(0, total - inQueue - setup - transmit);
        String line = DeliveryLogFormat.line(message.id(), rcpt, relay, total, beforeQueue, inQueue, setup, transmit,
                dsn, status.postfixName(), reason);
        return new DeliveryEvent(message.id(), message.envelope().sender(), rcpt, status, relay, dsn,
                reason, tls, delay, line);
    }

    private void publish(DeliveryEvent event) {
        if (event.status() == DeliveryEvent.Status.SENT) {
            if (!event.tls().isEmpty()) {
                deliveryLog.info("{}: TLS connection established to {}: {}", event.queueId(), event.relay(), event.tls());
            }
            deliveryLog.info(event.logLine());
        } else {
            deliveryLog.warn(event.logLine());
        }
        for (DeliveryListener l : listeners) {
            try {
                l.onDelivery(event);
            } catch (RuntimeException e) {
                log.warn("queue: delivery listener failed: {}", e.toString());
            }
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
        workers.shutdown();
        try {
            if (!workers.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            workers.shutdownNow();
        }
    }
}
