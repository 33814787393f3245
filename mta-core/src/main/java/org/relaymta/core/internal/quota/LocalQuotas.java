package org.relaymta.core.internal.quota;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.relaymta.config.internal.RelayLimits;

/**
 * Provider quotas counted on this node: message and recipient rates with GCRA (a whole period's
 * worth may go at once, then one per interval), a cap on transactions in flight per key, and
 * warm-up volumes per UTC day. A transaction over any applicable quota is not attempted; the
 * answer says when it may go (computed from the rate, not polled), and nothing is counted for it.
 *
 * <p>With {@code share} N > 1 this node takes 1/N of every quota: the fallback of a node whose
 * Redis cannot be reached, so that N nodes together still stay within the quota.
 */
public final class LocalQuotas implements Quotas {
    private record DayCount(LocalDate day, long count) {
    }

    private final Clock clock;
    private final int share;
    /** Theoretical arrival time per key and setting ("messages" / "recipients"). */
    private final Map<String, Instant> tat = new HashMap<>();
    private final Map<String, Integer> inFlight = new HashMap<>();
    private final Map<String, DayCount> warmup = new HashMap<>();
    private final List<Consumer<String>> freed = new CopyOnWriteArrayList<>();

    public LocalQuotas(Clock clock) {
        this(clock, 1);
    }

    public LocalQuotas(Clock clock, int share) {
        this.clock = clock;
        this.share = Math.max(1, share);
    }

    @Override
    public CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients, Phase phase) {
        if (limits.isEmpty()) {
            return CompletableFuture.completedFuture(Admission.free());
        }
        return CompletableFuture.completedFuture(admitNow(limits, recipients, phase));
    }

    @Override
    public void onFreed(Consumer<String> listener) {
        freed.add(listener);
    }

    public Admission admitNow(List<RelayLimits.Limit> limits, int recipients) {
        return admitNow(limits, recipients, Phase.BOTH);
    }

    /** The answer now (this gate never waits). */
    public synchronized Admission admitNow(List<RelayLimits.Limit> limits, int recipients, Phase phase) {
        Instant now = clock.instant();
        boolean count = phase != Phase.RESERVE;
        Duration slack = count ? Duration.ZERO : SEND_WAIT;
        QuotaDelay worst = null;
        Map<String, Instant> next = new HashMap<>();
        LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
        for (RelayLimits.Limit l : limits) {
            worst = QuotaDelay.later(worst, rate(l, "messages", l.messages(), 1, now, next, slack));
            worst = QuotaDelay.later(worst, rate(l, "recipients", l.recipients(), recipients, now, next, slack));
            worst = QuotaDelay.later(worst, warmup(l, today));
            if (phase != Phase.SEND && l.concurrency() != null && inFlight.getOrDefault(l.key(), 0) >= concurrency(l.concurrency())) {
                // Woken by the release (onFreed); the time is the latest a waiter looks again.
                worst = QuotaDelay.later(worst, new QuotaDelay(now.plusSeconds(5), l.key(), "concurrency=" + l.concurrency()));
            }
        }
        if (worst != null) {
            return Admission.delayed(worst);
        }
        if (count) {
            tat.putAll(next);
            for (RelayLimits.Limit l : limits) {
                if (l.warmup() != null) {
                    DayCount c = warmup.get(l.key());
                    warmup.put(l.key(), new DayCount(today, c == null || !c.day().equals(today) ? 1 : c.count() + 1));
                }
            }
        }
        if (phase == Phase.SEND) {
            return Admission.admitted(() -> { });
        }
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                inFlight.merge(l.key(), 1, Integer::sum);
            }
        }
        return Admission.admitted(() -> release(limits));
    }

    private void release(List<RelayLimits.Limit> limits) {
        synchronized (this) {
            for (RelayLimits.Limit l : limits) {
                if (l.concurrency() != null) {
                    inFlight.computeIfPresent(l.key(), (k, n) -> n <= 1 ? null : n - 1);
                }
            }
        }
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                freed.forEach(f -> f.accept(l.key()));
            }
        }
    }

    private int concurrency(int limit) {
        return Math.max(1, limit / share);
    }

    /** Over the day's warm-up volume: waits for the next UTC day. */
    private QuotaDelay warmup(RelayLimits.Limit l, LocalDate today) {
        if (l.warmup() == null) {
            return null;
        }
        OptionalLong volume = l.warmup().volumeOn(today);
        if (volume.isEmpty()) {
            return null;
        }
        DayCount c = warmup.get(l.key());
        long sent = c == null || !c.day().equals(today) ? 0 : c.count();
        if (sent < Math.max(1, volume.getAsLong() / share)) {
            return null;
        }
        return new QuotaDelay(today.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant(), l.key(),
                l.warmup().written() + " (" + volume.getAsLong() + " on " + today + ")");
    }

    private QuotaDelay rate(RelayLimits.Limit l, String name, RelayLimits.Rate rate, int cost, Instant now,
                            Map<String, Instant> next, Duration slack) {
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
                Instant until = oversize ? base : newTat.minus(tolerance);
                if (Duration.between(now, until).compareTo(slack) > 0) {
                    return new QuotaDelay(until, l.key(), rate.written());
                }
            }
        }
        next.put(k, newTat);
        return null;
    }
}
