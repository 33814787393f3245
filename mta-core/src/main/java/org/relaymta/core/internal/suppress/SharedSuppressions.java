package org.relaymta.core.internal.suppress;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.relaymta.core.internal.cluster.RedisLink;
import org.relaymta.core.queue.Suppression;
import org.relaymta.core.queue.SuppressionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The suppression list every node shares through Redis: the hash {@value #KEY} (address ->
 * "since expires reason") is the list, and each change is also published on {@value #CHANNEL} so
 * the other nodes apply it at once. Lookups never wait for Redis: they read this node's replica
 * ({@link LocalSuppressions}, on disk too), which is loaded whole from the hash whenever Redis
 * becomes reachable, so a node that was away catches up. A change made while Redis is away holds
 * on this node and is written to the hash when it comes back.
 */
public final class SharedSuppressions implements SuppressionList {
    private static final Logger log = LoggerFactory.getLogger(SharedSuppressions.class);
    static final String KEY = "relay-mta:suppressions";
    static final String CHANNEL = "relay-mta:suppressions:changes";

    private final LocalSuppressions replica;
    private final RedisLink redis;

    public SharedSuppressions(LocalSuppressions replica, RedisLink redis) {
        this.replica = replica;
        this.redis = redis;
        redis.subscribe(CHANNEL, line -> {
            if (!replica.applyAndKeep(line)) {
                log.warn("suppressions: a change from another node is not one: ignored");
            }
        });
        redis.onChange(shared -> {
            if (shared) {
                reload();
            }
        });
        if (redis.shared()) {
            reload();
        }
    }

    /** Writes this node's entries Redis lacks, then takes the hash as the list. */
    CompletableFuture<Void> reload() {
        return redis.call(c -> c.hgetall(KEY)).thenCompose(all -> {
            Map<String, Suppression> merged = new HashMap<>();
            Instant now = Instant.now();
            all.forEach((address, value) -> parse(address, value).filter(s -> s.expires().isAfter(now))
                    .ifPresent(s -> merged.put(address, s)));
            List<Suppression> mine = replica.list().stream().filter(s -> !merged.containsKey(s.address())).toList();
            mine.forEach(s -> merged.put(s.address(), s));
            replica.replaceAll(merged);
            List<String> expired = all.keySet().stream().filter(a -> !merged.containsKey(a)).toList();
            CompletableFuture<?> writes = mine.isEmpty() ? CompletableFuture.completedFuture(null)
                    : redis.call(c -> c.hset(KEY, toHash(mine)));
            CompletableFuture<?> deletes = expired.isEmpty() ? CompletableFuture.completedFuture(null)
                    : redis.call(c -> c.hdel(KEY, expired.toArray(String[]::new)));
            return CompletableFuture.allOf(writes, deletes);
        }).exceptionally(e -> {
            log.warn("suppressions: cannot read the shared list from Redis ({}); this node's copy holds", e.toString());
            return null;
        });
    }

    private static Map<String, String> toHash(List<Suppression> list) {
        Map<String, String> m = new HashMap<>();
        list.forEach(s -> m.put(s.address(), value(s)));
        return m;
    }

    static String value(Suppression s) {
        return s.since().getEpochSecond() + " " + s.expires().getEpochSecond() + " " + s.reason();
    }

    static Optional<Suppression> parse(String address, String value) {
        String[] p = value.split(" ", 3);
        try {
            return p.length == 3 ? Optional.of(new Suppression(address, Instant.ofEpochSecond(Long.parseLong(p[0])),
                    Instant.ofEpochSecond(Long.parseLong(p[1])), p[2])) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<Suppression> list() {
        return replica.list();
    }

    @Override
    public Optional<Suppression> find(String address) {
        return replica.find(address);
    }

    @Override
    public Suppression add(String address, String reason) {
        Suppression s = replica.add(address, reason);
        redis.call(c -> c.hset(KEY, s.address(), value(s)))
                .thenCompose(ok -> redis.call(c -> c.publish(CHANNEL, LocalSuppressions.addLine(s))))
                .exceptionally(e -> {
                    log.warn("suppressions: {} suppressed on this node only for now (Redis: {})", s.address(), e.toString());
                    return null;
                });
        return s;
    }

    @Override
    public boolean remove(String address) {
        boolean was = replica.remove(address);
        String a = address.strip().toLowerCase(java.util.Locale.ROOT);
        redis.call(c -> c.hdel(KEY, a)).thenCompose(n -> redis.call(c -> c.publish(CHANNEL, LocalSuppressions.removeLine(a))))
                .exceptionally(e -> {
                    log.warn("suppressions: {} removed on this node only for now (Redis: {})", a, e.toString());
                    return null;
                });
        return was;
    }
}
