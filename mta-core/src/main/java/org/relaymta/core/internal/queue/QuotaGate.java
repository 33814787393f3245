package org.relaymta.core.internal.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.internal.RelayLimits;

/**
 * Provider quotas on this node ({@code relay-limits.cf}): message and recipient rates counted with
 * GCRA (a whole period's worth may go at once, then one per interval), and a cap on transactions in
 * flight per key. A transaction over any applicable quota is not attempted; the gate says when it
 * may go (computed from the rate, not polled), and nothing is counted for it.
 */
final class QuotaGate {
    /** Why and until when a transaction waits. */
    record Delay(Instant until, String key, String setting) {
        String reason() {
            return "relay quota " + key + " " + setting;
        }
    }

    private final Clock clock;
    /** Theoretical arrival time per key and setting ("messages" / "recipients"). */
    private final Map<String, Instant> tat = new HashMap<>();
    private final Map<String, Integer> inFlight = new HashMap<>();

    QuotaGate(Clock clock) {
        this.clock = clock;
    }

    /** Admits a transaction of {@code recipients} under every limit, or says until when it waits. */
    synchronized Optional<Delay> admit(List<RelayLimits.Limit> limits, int recipients) {
        if (limits.isEmpty()) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        Delay worst = null;
        Map<String, Instant> next = new HashMap<>();
        for (RelayLimits.Limit l : limits) {
            worst = later(worst, rate(l, "messages", l.messages(), 1, now, next));
            worst = later(worst, rate(l, "recipients", l.recipients(), recipients, now, next));
            if (l.concurrency() != null && inFlight.getOrDefault(l.key(), 0) >= l.concurrency()) {
                worst = later(worst, new Delay(now.plusSeconds(1), l.key(), "concurrency=" + l.concurrency()));
            }
        }
        if (worst != null) {
            return Optional.of(worst);
        }
        tat.putAll(next);
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                inFlight.merge(l.key(), 1, Integer::sum);
            }
        }
        return Optional.empty();
    }

    /** A transaction admitted with {@code limits} ended. */
    synchronized void release(List<RelayLimits.Limit> limits) {
        for (RelayLimits.Limit l : limits) {
            if (l.concurrency() != null) {
                inFlight.computeIfPresent(l.key(), (k, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    private Delay rate(RelayLimits.Limit l, String name, RelayLimits.Rate rate, int cost, Instant now, Map<String, Instant> next) {
        if (rate == null || cost <= 0) {
            return null;
        }
        String k = l.key() + " " + name;
        Instant base = tat.getOrDefault(k, now);
        if (base.isBefore(now)) {
            base = now;
        }
        Instant newTat = base.plus(rate.interval().multipliedBy(cost));
        Duration ahead = Duration.between(now, newTat);
        if (ahead.compareTo(rate.period()) > 0) {
            return new Delay(newTat.minus(rate.period()), l.key(), rate.written());
        }
        next.put(k, newTat);
        return null;
    }

    private static Delay later(Delay a, Delay b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return b.until().isAfter(a.until()) ? b : a;
    }
}
