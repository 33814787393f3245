package org.relaymta.core.internal.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.quota.LocalQuotas;
import org.relaymta.core.internal.quota.Quotas;

/**
 * Per destination (a route's grouping key): how many deliveries run at once, and whether the
 * destination is suspended because no session could be made (Postfix's dead destination). Every
 * attempt path asks here. The limit is passed on each call, so a reloaded
 * {@code default_destination_concurrency_limit} applies to the next delivery.
 */
final class DestinationLimiter {
    /** A destination not tried until {@code until}; mail for it is deferred with this reason. */
    record Suspension(Instant until, String dsn, String reason) {
    }

    /** A transaction waiting for a slot: started by the executor when one frees. */
    private record Waiter(int limit, Runnable start) {
    }

    private final Clock clock;
    /** Provider quotas (relay-limits.cf), checked before a transaction takes a slot. */
    private final Quotas quotas;

    Quotas quotas() {
        return quotas;
    }

    Clock clock() {
        return clock;
    }
    private final Executor executor;
    private final int totalLimit;
    private final Map<String, Suspension> suspended = new ConcurrentHashMap<>();
    /** Slots in use per destination, waiting transactions per destination (in arrival order); guarded by this. */
    private final Map<String, Integer> used = new HashMap<>();
    private final LinkedHashMap<String, ArrayDeque<Waiter>> waiting = new LinkedHashMap<>();
    private int total;

    /**
     * @param executor   where a waiting transaction starts when a slot frees (not the releasing thread,
     *                   which may be an event loop)
     * @param totalLimit transactions running at once over all destinations
     */
    DestinationLimiter(Clock clock, Executor executor, int totalLimit) {
        this(clock, executor, totalLimit, new LocalQuotas(clock));
    }

    DestinationLimiter(Clock clock, Executor executor, int totalLimit, Quotas quotas) {
        this.clock = clock;
        this.quotas = quotas;
        this.executor = executor;
        this.totalLimit = Math.max(1, totalLimit);
    }

    /** The destination's suspension if it is still in force. */
    Optional<Suspension> suspension(String destination) {
        Suspension s = suspended.get(destination);
        if (s == null) {
            return Optional.empty();
        }
        if (!s.until().isAfter(clock.instant())) {
            suspended.remove(destination, s);
            return Optional.empty();
        }
        return Optional.of(s);
    }

    /** Takes a slot if one of {@code limit} (and of the total) is free. */
    synchronized boolean tryAcquire(String destination, int limit) {
        if (!free(destination, limit)) {
            return false;
        }
        take(destination);
        return true;
    }

    /**
     * Runs {@code start} holding a slot: now on this thread if one is free, else on the executor
     * when one frees (a qmgr that does not start more, without a thread waiting).
     */
    void acquire(String destination, int limit, Runnable start) {
        synchronized (this) {
            if (!free(destination, limit) || waiting.containsKey(destination)) {
                waiting.computeIfAbsent(destination, k -> new ArrayDeque<>()).addLast(new Waiter(limit, start));
                return;
            }
            take(destination);
        }
        start.run();
    }

    /** Gives a slot back; the longest-waiting transaction that now fits starts. */
    void release(String destination) {
        Waiter next = null;
        synchronized (this) {
            Integer n = used.get(destination);
            if (n == null) {
                return;
            }
            if (n <= 1) {
                used.remove(destination);
            } else {
                used.put(destination, n - 1);
            }
            total--;
            String chosen = null;
            ArrayDeque<Waiter> own = waiting.get(destination);
            if (own != null && free(destination, own.peekFirst().limit())) {
                chosen = destination;
            } else {
                for (Map.Entry<String, ArrayDeque<Waiter>> e : waiting.entrySet()) {
                    if (free(e.getKey(), e.getValue().peekFirst().limit())) {
                        chosen = e.getKey();
                        break;
                    }
                }
            }
            if (chosen != null) {
                ArrayDeque<Waiter> q = waiting.remove(chosen);
                next = q.pollFirst();
                if (!q.isEmpty()) {
                    // To the back: destinations take turns for freed slots.
                    waiting.put(chosen, q);
                }
                take(chosen);
            }
        }
        if (next != null) {
            Runnable start = next.start();
            try {
                executor.execute(start);
            } catch (RejectedExecutionException e) {
                release(destination);
            }
        }
    }

    private boolean free(String destination, int limit) {
        return total < totalLimit && used.getOrDefault(destination, 0) < Math.max(1, limit);
    }

    private void take(String destination) {
        used.merge(destination, 1, Integer::sum);
        total++;
    }

    /** Deliveries running to {@code destination} now. */
    synchronized int inUse(String destination) {
        return used.getOrDefault(destination, 0);
    }

    /** Transactions waiting for a slot, over all destinations. */
    synchronized int waiting() {
        return waiting.values().stream().mapToInt(ArrayDeque::size).sum();
    }

    /**
     * Learns from one transaction's outcomes: when no usable session could be had (connection
     * refused, a 421 or other refusal at the greeting, TLS or AUTH failure: Postfix's failed cohort,
     * with {@code default_destination_concurrency_failed_cohort_limit} 1) the destination is
     * suspended for {@code backoff}, so the rest of its queue is not sent at a failing host one
     * message at a time; a usable session lifts a suspension.
     */
    void record(String destination, List<DeliveryOutcome> outcomes, Duration backoff) {
        boolean noSession = !outcomes.isEmpty() && outcomes.stream().allMatch(
                o -> o.status() == DeliveryOutcome.Status.DEFERRED && o.sessionFailed());
        if (noSession) {
            DeliveryOutcome first = outcomes.get(0);
            suspended.put(destination, new Suspension(clock.instant().plus(backoff), first.dsn(), first.reason()));
        } else {
            suspended.remove(destination);
        }
    }

    /** A clean delivery on a session: the destination works. */
    void recordSuccess(String destination) {
        suspended.remove(destination);
    }

    /** Operator flush or requeue: every destination gets another chance now. */
    void resumeAll() {
        suspended.clear();
    }
}
