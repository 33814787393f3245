package org.relaymta.core.internal.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.config.internal.NextHop;

/**
 * The order in which an attempt walks a {@code balance} pool: smooth weighted round robin (each hop
 * gains its weight, the one with most goes first and pays the total back), over the hops whose
 * circuit breaker lets mail through, then the rest of the pool in configured order as failover. A
 * failover list keeps its order. One state per pool, shared by the attempts of all messages.
 */
final class RelayPools {
    private static final class Pool {
        final int[] current;

        Pool(int size) {
            current = new int[size];
        }
    }

    private final Map<String, Pool> pools = new ConcurrentHashMap<>();
    private final RelayHealth health;

    RelayPools(RelayHealth health) {
        this.health = health;
    }

    List<NextHop> order(List<NextHop> hops) {
        if (!NextHop.balanced(hops) || hops.size() < 2) {
            return hops;
        }
        String key = String.join(",", hops.stream().map(h -> h.asWritten() + "*" + h.weight()).toList());
        Pool pool = pools.computeIfAbsent(key, k -> new Pool(hops.size()));
        int first;
        synchronized (pool) {
            int total = 0;
            first = -1;
            for (int i = 0; i < hops.size(); i++) {
                if (health.state(hops.get(i).asWritten()) != RelayHealth.State.CLOSED) {
                    continue;   // open breaker: out of the rotation until its probe says otherwise
                }
                pool.current[i] += hops.get(i).weight();
                total += hops.get(i).weight();
                if (first < 0 || pool.current[i] > pool.current[first]) {
                    first = i;
                }
            }
            if (first < 0) {
                return hops;   // every breaker open: the attempt's own walk words the deferral
            }
            pool.current[first] -= total;
        }
        List<NextHop> out = new ArrayList<>(hops.size());
        out.add(hops.get(first));
        for (int i = 0; i < hops.size(); i++) {
            if (i != first) {
                out.add(hops.get(i));
            }
        }
        return out;
    }
}
