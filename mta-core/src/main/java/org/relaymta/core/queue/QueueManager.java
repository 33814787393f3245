package org.relaymta.core.queue;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
import org.relaymta.core.spool.Recipient;
import org.relaymta.core.spool.RecipientStatus;
import org.relaymta.core.spool.Spool;
import org.relaymta.core.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Schedules deliveries of spooled messages: routes each pending recipient with the current config
 * snapshot, groups recipients that share a route into transactions, records outcomes in the spool,
 * and retries deferred recipients with Postfix's backoff until they are sent or expire.
 * The index holds envelopes and state only; content stays on disk.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueManager.class);
    private static final Logger deliveryLog = LoggerFactory.getLogger("org.relaymta.delivery");

    private final Spool spool;
    private final Supplier<RelayConfig> config;
    private final SmtpDeliveryAgent agent;
    private final Clock clock;
    private final List<DeliveryListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, SpooledMessage> index = new ConcurrentHashMap<>();
    private final Map<String, ScheduledFuture<?>> timers = new ConcurrentHashMap<>();
    private final Map<String, Boolean> inFlight = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final ThreadPoolExecutor workers;
    private volatile boolean closed;

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

    private static java.util.concurrent.ThreadFactory named(String prefix) {
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

    /** Loads every message left in the spool and schedules it (restart: the spool is the truth). */
    public int recover() throws IOException {
        List<SpooledMessage> messages = spool.recover();
        Instant now = clock.instant();
        for (SpooledMessage m : messages) {
            index.put(m.id(), m);
            schedule(m.id(), m.attempts() == 0 || m.nextAttempt().isBefore(now) ? now : m.nextAttempt());
        }
        return messages.size();
    }

    /** Queues a newly received message for immediate delivery. */
    public void enqueue(SpooledMessage message) {
        index.put(message.id(), message);
        submit(message.id());
    }

    /** Retries every waiting message now (Postfix {@code postqueue -f}). */
    public void flush() {
        for (String id : index.keySet()) {
            ScheduledFuture<?> f = timers.remove(id);
            if (f != null) {
                f.cancel(false);
            }
            submit(id);
        }
    }

    public Collection<SpooledMessage> messages() {
        return List.copyOf(index.values());
    }

    public int size() {
        return index.size();
    }

    private void schedule(String id, Instant when) {
        if (closed) {
            return;
        }
        long delay = Math.max(0, Duration.between(clock.instant(), when).toMillis());
        if (delay == 0) {
            submit(id);
            return;
        }
        ScheduledFuture<?> f = timer.schedule(() -> {
            timers.remove(id);
            submit(id);
        }, delay, TimeUnit.MILLISECONDS);
        ScheduledFuture<?> old = timers.put(id, f);
        if (old != null) {
            old.cancel(false);
        }
    }

    private void submit(String id) {
        if (closed) {
            return;
        }
        try {
            workers.execute(() -> attempt(id));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shutting down: the message stays in the spool for the next start
        }
    }

    /** One delivery attempt of one message: all its pending recipients, grouped by route. */
    void attempt(String id) {
        if (closed || inFlight.putIfAbsent(id, Boolean.TRUE) != null) {
            return;
        }
        try {
            SpooledMessage message = index.get(id);
            if (message == null || message.finished()) {
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
            Map<String, Recipient> updated = new LinkedHashMap<>();
            for (Recipient r : message.recipients()) {
                updated.put(r.address(), r);
            }
            int limit = Math.max(1, cfg.queue().destinationRecipientLimit());
            for (Map.Entry<String, List<String>> group : groups.entrySet()) {
                List<String> rcpts = group.getValue();
                for (int i = 0; i < rcpts.size(); i += limit) {
                    List<String> chunk = rcpts.subList(i, Math.min(rcpts.size(), i + limit));
                    DeliveryRequest request = new DeliveryRequest(id, message.envelope().sender(), chunk,
                            message.contentLength(), () -> spool.openContent(message), routes.get(group.getKey()), cfg);
                    for (DeliveryOutcome o : agent.deliver(request)) {
                        RecipientStatus status = switch (o.status()) {
                            case SENT -> RecipientStatus.SENT;
                            case BOUNCED -> RecipientStatus.FAILED;
                            case DEFERRED -> RecipientStatus.PENDING;
                        };
                        updated.put(o.recipient(), updated.get(o.recipient()).with(status, o.dsn(), o.reason()));
                        publish(message, o.recipient(), toEventStatus(o.status()), o.relay(), o.dsn(), o.reason(),
                                o.tls(), waited, o.setupSeconds(), o.transmitSeconds());
                    }
                }
            }
            finishAttempt(message, new ArrayList<>(updated.values()));
        } catch (RuntimeException e) {
            // Never lose a message to a bug: log it and try again later.
            log.error("queue: delivery attempt of {} failed unexpectedly; will retry", id, e);
            SpooledMessage m = index.get(id);
            if (m != null) {
                schedule(id, clock.instant().plus(config.get().queue().minimalBackoffTime()));
            }
        } finally {
            inFlight.remove(id);
        }
    }

    private void finishAttempt(SpooledMessage message, List<Recipient> recipients) {
        RelayConfig cfg = config.get();
        Instant now = clock.instant();
        Duration age = Duration.between(message.envelope().arrival(), now);
        boolean pending = recipients.stream().anyMatch(r -> r.status() == RecipientStatus.PENDING);
        if (pending && age.compareTo(lifetimeFor(message, cfg)) >= 0) {
            List<Recipient> expired = new ArrayList<>();
            for (Recipient r : recipients) {
                if (r.status() == RecipientStatus.PENDING) {
                    String dsn = r.dsn().isEmpty() ? "4.4.7" : r.dsn();
                    String reason = "message expired after " + age.toHours() + "h: " + r.lastReason();
                    expired.add(r.with(RecipientStatus.FAILED, dsn, reason));
                    publish(message, r.address(), DeliveryEvent.Status.EXPIRED, "none", dsn, reason, "", 0, 0, 0);
                } else {
                    expired.add(r);
                }
            }
            recipients = expired;
            pending = false;
        }
        SpooledMessage next = message.withState(recipients, message.attempts() + 1,
                now.plus(cfg.queue().backoffFor(age)));
        if (!pending) {
            try {
                spool.remove(next);
            } catch (IOException e) {
                log.error("queue: cannot remove finished message {} from the spool: {}", message.id(), e.getMessage());
            }
            index.remove(message.id());
            return;
        }
        try {
            spool.saveState(next);
        } catch (IOException e) {
            // The message file is intact; losing the state only repeats deliveries.
            log.error("queue: cannot save state of {}: {}", message.id(), e.getMessage());
        }
        index.put(message.id(), next);
        schedule(message.id(), next.nextAttempt());
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

    private void publish(SpooledMessage message, String rcpt, DeliveryEvent.Status status, String relay, String dsn,
                         String reason, String tls, double inQueue, double setup, double transmit) {
        Duration delay = Duration.between(message.envelope().arrival(), clock.instant());
        double total = Math.max(0, delay.toMillis() / 1000.0);
        double beforeQueue = Math.max(0, total - inQueue - setup - transmit);
        String line = DeliveryLogFormat.line(message.id(), rcpt, relay, total, beforeQueue, inQueue, setup, transmit,
                dsn, status.postfixName(), reason);
        if (status == DeliveryEvent.Status.SENT) {
            if (!tls.isEmpty()) {
                deliveryLog.info("{}: TLS connection established to {}: {}", message.id(), relay, tls);
            }
            deliveryLog.info(line);
        } else {
            deliveryLog.warn(line);
        }
        DeliveryEvent event = new DeliveryEvent(message.id(), message.envelope().sender(), rcpt, status, relay, dsn,
                reason, tls, delay, line);
        for (DeliveryListener l : listeners) {
            try {
                l.onDelivery(event);
            } catch (RuntimeException e) {
                log.warn("queue: delivery listener failed: {}", e.toString());
            }
        }
    }

    /** Stops scheduling, lets running attempts finish up to {@code grace}; everything else stays spooled. */
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
