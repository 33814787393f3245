package org.relaymta.core.internal.delivery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Targets (server address and port) that failed recently: no connection, a refusal at the
 * greeting, a TLS failure. They are tried after the others until their time is up or they work
 * again, so a dead first MX costs one failed connection instead of one per message (the idea of
 * OkHttp's RouteDatabase, with a time limit).
 */
final class RouteDatabase {
    private final Map<String, Long> failedUntil = new ConcurrentHashMap<>();
    private final LongSupplier nanoTime;

    RouteDatabase() {
        this(System::nanoTime);
    }

    RouteDatabase(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** {@code targets} in their order, those that failed recently moved to the end (in their order). */
    List<Target> order(List<Target> targets) {
        if (failedUntil.isEmpty() || targets.size() < 2) {
            return targets;
        }
        long now = nanoTime.getAsLong();
        List<Target> good = new ArrayList<>(targets.size());
        List<Target> failed = new ArrayList<>();
        for (Target t : targets) {
            Long until = failedUntil.get(t.relay());
            if (until != null && until - now > 0) {
                failed.add(t);
            } else {
                if (until != null) {
                    failedUntil.remove(t.relay(), until);
                }
                good.add(t);
            }
        }
        good.addAll(failed);
        return good;
    }

    void failed(Target target, Duration forHowLong) {
        failedUntil.put(target.relay(), nanoTime.getAsLong() + forHowLong.toNanos());
    }

    void succeeded(Target target) {
        failedUntil.remove(target.relay());
    }
}
