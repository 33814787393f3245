package org.relaymta.core.internal.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Spool leases in memory on a (moved) clock, with RedisSpoolLeases' rules; {@link #flush()} is a Redis restart. */
final class MemoryLeases implements SpoolLeases {
    private record Lease(Holder holder, Instant until) {
    }

    private final Clock clock;
    private final Map<String, Lease> leases = new HashMap<>();
    private final Map<String, Long> counters = new HashMap<>();
    private final Map<String, Instant> asks = new HashMap<>();
    private final Map<String, Instant> now = new HashMap<>();
    boolean down;

    MemoryLeases(Clock clock) {
        this.clock = clock;
    }

    private int epoch;

    void flush() {
        epoch++;
        leases.clear();
        counters.clear();
        asks.clear();
        now.clear();
    }

    private void up() throws Exception {
        if (down) {
            throw new java.io.IOException("connection refused");
        }
    }

    private Optional<Lease> live(String spool) {
        Lease l = leases.get(spool);
        if (l == null || !l.until().isAfter(clock.instant())) {
            leases.remove(spool);
            return Optional.empty();
        }
        return Optional.of(l);
    }

    @Override
    public synchronized OptionalLong acquire(String spool, String node, Duration lease, long atLeast) throws Exception {
        up();
        if (live(spool).isPresent()) {
            return OptionalLong.empty();
        }
        long g = Math.max(counters.getOrDefault(spool, 0L) + 1, atLeast + 1);
        counters.put(spool, g);
        leases.put(spool, new Lease(new Holder(node, g), clock.instant().plus(lease)));
        return OptionalLong.of(g);
    }

    @Override
    public synchronized boolean renew(String spool, String node, long generation, Duration lease) throws Exception {
        up();
        Optional<Lease> l = live(spool);
        if (l.isPresent()) {
            if (!l.get().holder().equals(new Holder(node, generation))) {
                return false;
            }
        } else if (counters.getOrDefault(spool, 0L) > generation) {
            return false;
        }
        counters.merge(spool, generation, Math::max);
        leases.put(spool, new Lease(new Holder(node, generation), clock.instant().plus(lease)));
        return true;
    }

    @Override
    public synchronized void release(String spool, String node, long generation) throws Exception {
        up();
        live(spool).filter(l -> l.holder().equals(new Holder(node, generation))).ifPresent(l -> leases.remove(spool));
    }

    @Override
    public synchronized Optional<Holder> holder(String spool) throws Exception {
        up();
        return live(spool).map(Lease::holder);
    }

    @Override
    public synchronized Map<String, Holder> all() throws Exception {
        up();
        Map<String, Holder> out = new LinkedHashMap<>();
        for (String s : Map.copyOf(leases).keySet()) {
            live(s).ifPresent(l -> out.put(s, l.holder()));
        }
        return out;
    }

    @Override
    public synchronized void ask(String spool, String node, Duration ttl) throws Exception {
        up();
        asks.put(spool, clock.instant().plus(ttl));
    }

    @Override
    public synchronized boolean asked(String spool) throws Exception {
        up();
        Instant t = asks.get(spool);
        return t != null && t.isAfter(clock.instant());
    }

    @Override
    public synchronized void handBackNow(String spool, Duration ttl) throws Exception {
        up();
        now.put(spool, clock.instant().plus(ttl));
    }

    @Override
    public synchronized String epoch() throws Exception {
        up();
        return "epoch-" + epoch;
    }

    @Override
    public synchronized boolean handBackNowAsked(String spool) throws Exception {
        up();
        Instant t = now.get(spool);
        return t != null && t.isAfter(clock.instant());
    }
}
