package org.relaymta.core.internal.quota;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.RelayLimits;

/**
 * Provider quotas counted on this node: message and recipient rates with GCRA (a whole period's
 * worth may go at once, then one per interval), and a cap on transactions in flight per key. A
 * transaction over any applicable quota is not attempted; the answer says when it may go
 * (computed from the rate, not polled), and nothing is counted for it.
 *
 * <p>With {@code share} N > 1 this node takes 1/N of every quota: the fallback of a node whose
 * Redis cannot be reached, so that N nodes together still stay within the quota.
 */
public final class LocalQuotas implements Quotas {
    private final Clock clock;
    private final int share;
    /** Theoretical arrival time per key and setting ("messages" / "recipients"). */
    private final Map<String, Instant> tat = new HashMap<>();
    private final Map<String, Integer> inFlight = new HashMap<>();

    public LocalQuotas(Clock clock) {
        this(clock, 1);
    }

    public LocalQuotas(Clock clock, int share) {
        this.clock = clock;
        this.share = Math.max(1, share);
    }

    @Override
    public CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients) {
        if (limits.isEmpty()) {
            return CompletableFuture.completedFuture(Admission.free());
        }
        return CompletableFuture.completedFuture(admitNow(limits, recipients));
    }

    /** The answer now (this gate never waits). */
    public synchronized Admission admitNow(List<RelayLimits.Limit> limits, int recipients) {
        Instant now = clock.instant();
        QuotaDelay worst = null;
        Map<String, Instant> next = new HashMap<>();
        for (RelayLimits.Limit l : limits) {
            worst = QuotaDelay.later(worst, rate(l, "messages", l.messages(), 1, now, next));
            worst = QuotaDelay.later(worst, rate(l, "recipients", l.recipients(), recipients, now, next));
            if (l.concurrency() != null && inFlight.getOrDefault(l.key(), 0) >= concurrency(l.concurrency())) {
                worst = QuotaDelay.later(worst, new QuotaDelay(now.plusSeconds(1), l.key(), "concurrency=" + l.concurrency()));
            }
        }
        if (worst != null) {
            return Admission.delayed(worst);
        }
        tat.putAll(next);
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                inFlight.merge(l.key(), 1, Integer::sum);
            }
        }
        return Admission.admitted(() -> release(limits));
    }

    private synchronized void release(List<RelayLimits.Limit> limits) {
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                inFlight.computeIfPresent(l.key(), (k, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    private int concurrency(int limit) {
        return Math.max(1, limit / share);
    }

    private QuotaDelay rate(RelayLimits.Limit l, String name, RelayLimits.Rate rate, int cost, Instant now,
                            Map<String, Instant> next) {
        if (rate == null || cost <= 0) {
            return null;
        }
        // This node's part: one unit per share x interval; the burst shrinks with it (at least one unit).
        Duration interval = rate.interval().multipliedBy(share);
        Duration tolerance = interval.multipliedBy(Math.max(1, rate.count() / share));
        String k = l.key() + " " + name;
        Instant base = tat.getOrDefault(k, now);
        if (base.isBefore(now)) {
            base = now;
        }
        Duration cost0 = interval.multipliedBy(cost);
        Instant newTat = base.plus(cost0);
        if (Duration.between(now, newTat).compareTo(tolerance) > 0) {
            // A transaction larger than the whole burst goes alone, once the bucket is empty.
            boolean oversize = cost0.compareTo(tolerance) > 0;
            if (!oversize || base.isAfter(now)) {
                return new QuotaDelay(oversize ? base : newTat.minus(tolerance), l.key(), rate.written());
            }
        }
        next.put(k, newTat);
        return null;
    }
}
