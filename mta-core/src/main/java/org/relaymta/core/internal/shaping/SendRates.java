package org.relaymta.core.internal.shaping;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.config.internal.ShapingRules;

/**
 * Messages sent per shaping destination in the last minute, in one-second buckets: the rate a
 * throttle starts from. Only destinations some rule names are counted.
 */
final class SendRates {
    private static final int SECONDS = 60;

    /** One destination's ring of per-second counts; guarded by itself. */
    private static final class Ring {
        final long[] second = new long[SECONDS];
        final int[] count = new int[SECONDS];
        long first = Long.MAX_VALUE;

        synchronized void add(long now) {
            int i = (int) (now % SECONDS);
            if (second[i] != now) {
                second[i] = now;
                count[i] = 0;
            }
            count[i]++;
            first = Math.min(first, now);
        }

        synchronized double perSecond(long nowMillis) {
            long now = nowMillis / 1000;
            long sum = 0;
            long oldest = now;
            for (int i = 0; i < SECONDS; i++) {
                if (count[i] > 0 && now - second[i] < SECONDS) {
                    sum += count[i];
                    oldest = Math.min(oldest, second[i]);
                }
            }
            // From the start of the oldest second counted to now, at least a second.
            return sum * 1000.0 / Math.max(1000, nowMillis - oldest * 1000);
        }
    }

    private final Clock clock;
    private final Map<String, Ring> rings = new ConcurrentHashMap<>();
    /** Server name or hop -> the destinations naming it, for the rules they were computed with. */
    private final Map<String, List<String>> names = new ConcurrentHashMap<>();
    private volatile ShapingRules namesFor;

    SendRates(Clock clock) {
        this.clock = clock;
    }

    void sent(ShapingRules rules, String host, String hop) {
        if (rules != namesFor) {
            names.clear();
            namesFor = rules;
        }
        String k = host + " " + hop;
        List<String> destinations = names.get(k);
        if (destinations == null) {
            if (names.size() > 10_000) {
                names.clear();
            }
            destinations = rules.rules().stream().flatMap(r -> r.destinationFor(host, hop).stream()).distinct().toList();
            names.put(k, destinations);
        }
        long now = clock.millis() / 1000;
        for (String d : destinations) {
            rings.computeIfAbsent(d, x -> new Ring()).add(now);
        }
    }

    double perSecond(String destination) {
        Ring r = rings.get(destination);
        return r == null ? 0 : r.perSecond(clock.millis());
    }
}
