package org.relaymta.core.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.core.delivery.DeliveryOutcome;

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

    private static final class Slots {
        int used;
    }

    private final Clock clock;
    private final Map<String, Slots> slots = new ConcurrentHashMap<>();
    private final Map<String, Suspension> suspended = new ConcurrentHashMap<>();

    DestinationLimiter(Clock clock) {
        this.clock = clock;
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

    /** Takes a delivery slot if one of {@code limit} is free. */
    boolean tryAcquire(String destination, int limit) {
        Slots s = slots.computeIfAbsent(destination, k -> new Slots());
        synchronized (s) {
            if (s.used >= Math.max(1, limit)) {
                return false;
            }
            s.used++;
            return true;
        }
    }

    /** Waits for a delivery slot (a delivery thread waits, like a qmgr that does not start more). */
    void acquire(String destination, int limit) {
        Slots s = slots.computeIfAbsent(destination, k -> new Slots());
        synchronized (s) {
            boolean interrupted = false;
            while (s.used >= Math.max(1, limit)) {
                try {
                    s.wait(1000);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            s.used++;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    void release(String destination) {
        Slots s = slots.get(destination);
        if (s == null) {
            return;
        }
        synchronized (s) {
            s.used = Math.max(0, s.used - 1);
            s.notify();
        }
    }

    /** Deliveries running to {@code destination} now. */
    int inUse(String destination) {
        Slots s = slots.get(destination);
        if (s == null) {
            return 0;
        }
        synchronized (s) {
            return s.used;
        }
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
