package org.relaymta.core.internal.queue;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.Router;
import org.relaymta.core.internal.delivery.DeliveryAgent;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.delivery.DeliveryRequest;
import org.relaymta.core.internal.quota.QuotaDelay;
import org.relaymta.core.internal.quota.Quotas;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.SuppressionList;

/**
 * One delivery attempt of a message whose entry is in flight: its transactions one after another,
 * each under its destination's slot (or deferred at once while the destination is suspended),
 * then the {@link AttemptFinisher}. No thread waits: a transaction starts when its slot is free
 * and continues when the agent's future completes.
 */
final class Attempt {
    /** Told when the attempt is over: when the message is due again, or null. */
    interface Done {
        void finished(Attempt attempt, QueueEntry entry, Instant due);
    }

    private final QueueEntry entry;
    private final SpooledMessage message;
    private final RelayConfig cfg;
    private final DeliveryRequest.Content content;
    private final double waited;
    private final DeliveryAgent agent;
    private final DestinationLimiter limiter;
    private final AttemptFinisher finisher;
    private final Executor slow;
    private final Done done;
    private final BooleanSupplier stopping;
    private final List<Transaction> plan;
    private final List<DeliveryOutcome> outcomes = new ArrayList<>();
    private int next;
    /** Recipients held back by a relay quota in this attempt, and the earliest time one may go. */
    private final Set<String> quotaHeld = new HashSet<>();
    private Instant quotaDue;
    /** Recipients on the suppression list: bounced at once, no transaction. */
    private final Set<String> suppressed = new HashSet<>();
    private final Shaper shaper;
    /** The quota key whose concurrency slot this attempt waits for (woken when one frees), or null. */
    private String concurrencyKey;

    /**
     * @param slow where work that may wait on the disk runs (finishing an attempt that changed the
     *             queue files) instead of the event loop that completed the delivery
     */
    Attempt(QueueEntry entry, SpooledMessage message, RelayConfig cfg, DeliveryRequest.Content content, double waited,
            DeliveryAgent agent, DestinationLimiter limiter, AttemptFinisher finisher, Executor slow, Done done,
            BooleanSupplier stopping, SuppressionList suppressions, Shaper shaper) {
        this.entry = entry;
        this.shaper = shaper;
        this.message = message;
        this.cfg = cfg;
        this.content = content;
        this.waited = waited;
        this.agent = agent;
        this.limiter = limiter;
        this.finisher = finisher;
        this.slow = slow;
        this.done = done;
        this.stopping = stopping;
        for (Recipient r : message.pendingRecipients()) {
            suppressions.find(r.address()).ifPresent(s -> {
                suppressed.add(r.address());
                outcomes.add(new DeliveryOutcome(r.address(), DeliveryOutcome.Status.BOUNCED, "5.1.1", "recipient address "
                        + "suppressed since " + DateTimeFormatter.ISO_LOCAL_DATE.format(s.since().atOffset(ZoneOffset.UTC))
                        + " (" + s.reason() + "): not sent again", "none", "", 0, 0)
                        .via(Router.route(cfg, message.envelope().sender(), r.address())));
            });
        }
        this.plan = Transaction.plan(message, cfg, suppressed);
    }

    /**
     * Starts the next transaction, or finishes when none is left. A quota answer that comes later
     * (from Redis) continues on the {@code slow} executor, not on the Redis client's thread.
     */
    void next() {
        while (next < plan.size()) {
            Transaction tx = plan.get(next++);
            if (deferIfSuspended(tx) || deferIfShaped(tx)) {
                continue;
            }
            List<RelayLimits.Limit> limits = Transaction.limits(cfg, tx.route());
            List<RelayLimits.Limit> shaped = shaper.idle() ? List.of() : shaper.limits(expectedHost(tx), expectedHop(tx));
            if (!shaped.isEmpty()) {
                limits = new ArrayList<>(limits);
                limits.addAll(shaped);
            }
            if (limits.isEmpty()) {
                start(tx, Quotas.Admission.free());
                return;
            }
            CompletableFuture<Quotas.Admission> asked = limiter.quotas().admit(limits, tx.recipients().size(),
                    Quotas.Phase.RESERVE);
            if (!asked.isDone()) {
                asked.thenAccept(admission -> {
                    try {
                        slow.execute(() -> afterQuota(tx, admission));
                    } catch (RejectedExecutionException e) {
                        afterQuota(tx, admission);
                    }
                });
                return;
            }
            Quotas.Admission admission = asked.join();
            if (deferIfOverQuota(tx, admission)) {
                continue;
            }
            start(tx, admission);
            return;
        }
        finish();
    }

    private void afterQuota(Transaction tx, Quotas.Admission admission) {
        if (deferIfOverQuota(tx, admission)) {
            next();
        } else {
            start(tx, admission);
        }
    }

    private void start(Transaction tx, Quotas.Admission admission) {
        limiter.acquire(tx.destination(), cfg.queue().destinationConcurrencyLimit(), () -> send(tx, admission));
    }

    /** The server name mail on {@code tx}'s route is expected to reach: its relay host, or the MX destination learned for its domain. */
    private String expectedHost(Transaction tx) {
        if (tx.route().direct()) {
            return shaper.expectedHost(tx.route().directDomain().orElse(""));
        }
        return tx.route().nextHops().isEmpty() ? null : tx.route().nextHops().get(0).host();
    }

    private static String expectedHop(Transaction tx) {
        return tx.route().direct() || tx.route().nextHops().isEmpty() ? null : tx.route().nextHops().get(0).asWritten();
    }

    /** A destination a shaping rule suspended: its recipients wait until then (no session, no backoff: as a quota hold). */
    private boolean deferIfShaped(Transaction tx) {
        if (shaper.idle()) {
            return false;
        }
        var s = shaper.suspension(expectedHost(tx), expectedHop(tx));
        if (s.isEmpty()) {
            return false;
        }
        return deferIfOverQuota(tx, Quotas.Admission.delayed(TransactionGate.suspended(s.get())));
    }

    /** The quota key whose concurrency slot this attempt's mail waits for, or null. */
    String concurrencyKey() {
        return concurrencyKey;
    }

    /** The single-transaction case without waiting: false (nothing started) when no slot is free now. */
    boolean tryStartAlone() {
        if (plan.size() != 1 || !cfg.delivery().limits().isEmpty() || !shaper.idle()
                || limiter.suspension(plan.get(0).destination()).isPresent()
                || !limiter.tryAcquire(plan.get(0).destination(), cfg.queue().destinationConcurrencyLimit())) {
            return false;
        }
        next = 1;
        send(plan.get(0), Quotas.Admission.free());
        return true;
    }

    private boolean deferIfSuspended(Transaction tx) {
        var suspended = limiter.suspension(tx.destination());
        if (suspended.isEmpty()) {
            return false;
        }
        for (String rcpt : tx.recipients()) {
            outcomes.add(new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, suspended.get().dsn(),
                    "delivery temporarily suspended: " + suspended.get().reason(), "none", "", 0, 0).via(tx.route()));
        }
        return true;
    }

    /**
     * A transaction over a relay quota is not attempted: its recipients wait (not a failure, no
     * backoff) until the quota's next slot. False when the quotas admitted it (now counted).
     */
    private boolean deferIfOverQuota(Transaction tx, Quotas.Admission admission) {
        if (admission.delay().isEmpty()) {
            return false;
        }
        QuotaDelay delay = admission.delay().get();
        if (delay.concurrency()) {
            concurrencyKey = delay.key();
        }
        for (String rcpt : tx.recipients()) {
            outcomes.add(new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, "4.7.0", delay.reason(), "none", "", 0, 0)
                    .via(tx.route()));
            quotaHeld.add(rcpt);
        }
        if (quotaDue == null || delay.until().isBefore(quotaDue)) {
            quotaDue = delay.until();
        }
        return true;
    }

    /** Runs a transaction holding its destination's slot (and its quotas' concurrency, released at its end). */
    private void send(Transaction tx, Quotas.Admission admission) {
        if (stopping.getAsBoolean()) {
            // The relay stops: no new transaction. What was decided is recorded; the rest stays spooled.
            admission.release();
            limiter.release(tx.destination());
            if (outcomes.isEmpty()) {
                done.finished(this, entry, null);
            } else {
                finishHere(slow);
            }
            return;
        }
        if (deferIfSuspended(tx)) {
            // Suspended while this waited for its slot.
            admission.release();
            limiter.release(tx.destination());
            next();
            return;
        }
        CompletableFuture<List<DeliveryOutcome>> running;
        TransactionGate gate = new TransactionGate(tx, Transaction.limits(cfg, tx.route()), limiter.quotas(), shaper,
                limiter.clock());
        try {
            running = agent.deliver(tx.request(message, cfg, content, gate));
        } catch (RuntimeException e) {
            running = CompletableFuture.failedFuture(e);
        }
        running.whenComplete((result, failure) -> {
            if (Spool.onSyncThread()) {
                // Done before this was attached (a transport action, an open breaker): the caller is the
                // spool's sync thread queueing the message, and finishing may write a bounce and wait
                // for that thread's own commit.
                slow.execute(() -> settle(tx, gate, admission, result, failure));
            } else {
                settle(tx, gate, admission, result, failure);
            }
        });
    }

    private void settle(Transaction tx, TransactionGate gate, Quotas.Admission admission, List<DeliveryOutcome> result,
                        Throwable failure) {
        admission.release();
        limiter.release(tx.destination());
        if (failure != null) {
            abandon(failure);
            return;
        }
        QuotaDelay held = gate.held();
        List<DeliveryOutcome> seenAll = new ArrayList<>(result.size());
        for (DeliveryOutcome o : result) {
            DeliveryOutcome routed = o.via(tx.route());
            seenAll.add(shaper.observe(routed, entry.id));
        }
        // After shaping: a provider's "slow down" is paced by its action, not a failed session that suspends the destination.
        limiter.record(tx.destination(), seenAll, cfg.queue().minimalBackoffTime());
        for (DeliveryOutcome seen : seenAll) {
            outcomes.add(seen);
            if (held != null && seen.status() == DeliveryOutcome.Status.DEFERRED) {
                // Held at its session by a rate or a suspension: waits for the slot, no backoff.
                quotaHeld.add(seen.recipient());
                if (quotaDue == null || held.until().isBefore(quotaDue)) {
                    quotaDue = held.until();
                }
            }
        }
        next();
    }

    private void finish() {
        boolean allSent = outcomes.stream().allMatch(o -> o.status() == DeliveryOutcome.Status.SENT);
        // The common case touches the journal only: it runs where the outbox made its events durable.
        finishHere(allSent ? null : slow);
    }

    private void finishHere(Executor after) {
        CompletableFuture<Instant> due;
        try {
            due = finisher.finish(entry, message, outcomes, waited,
                    quotaHeld.isEmpty() ? null : new AttemptFinisher.QuotaHold(quotaHeld, quotaDue), suppressed, after);
        } catch (RuntimeException e) {
            due = CompletableFuture.failedFuture(e);
        }
        due.whenComplete((when, e) -> {
            if (e == null) {
                done.finished(this, entry, when);
            } else {
                RuntimeException bug = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                done.finished(this, entry, finisher.abandon(entry, bug));
            }
        });
    }

    private void abandon(Throwable failure) {
        RuntimeException bug = failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
        done.finished(this, entry, finisher.abandon(entry, bug));
    }
}
