package org.relaymta.core.internal.tlsrpt;

import io.lettuce.core.SetArgs;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.relaymta.core.internal.cluster.RedisLink;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.slf4j.LoggerFactory;

/**
 * Counts shared by the nodes through Redis: each session is one HINCRBY on the period's hash for its
 * domain, and the node that wins {@code SET ... NX} on the period and domain sends the one report.
 * While Redis is away a node counts in its own {@link LocalReportStore}; those counts are merged into
 * the report of whichever node sends it from there, or sent by the node itself when it alone knows
 * the domain.
 */
final class SharedReportStore implements ReportStore {
    static final String PREFIX = "mta:tlsrpt:";
    private static final long WAIT_SECONDS = 5;
    /** A claim outlives any report period; it only has to stop a second sender. */
    private static final long CLAIM_SECONDS = 40L * 24 * 3600;

    private final RedisLink redis;
    private final LocalReportStore local;

    SharedReportStore(RedisLink redis, LocalReportStore local) {
        this.redis = redis;
        this.local = local;
    }

    private <T> T get(CompletableFuture<T> f) {
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            return null;
        }
    }

    private static String key(long period, String domain) {
        return PREFIX + period + ":" + domain;
    }

    @Override
    public void add(long period, TlsSessionResult result) {
        String domain = result.policy().domain();
        String field = ReportCounts.field(result);
        Long done = get(redis.call(c -> c.hincrby(key(period, domain), field, 1)));
        if (done == null) {
            local.add(period, result);
            return;
        }
        redis.call(c -> c.sadd(PREFIX + "periods", String.valueOf(period)));
        redis.call(c -> c.sadd(PREFIX + period + ":domains", domain));
        if (!result.detail().isEmpty()) {
            redis.call(c -> c.hsetnx(key(period, domain) + ":detail", field, result.detail()));
        }
    }

    @Override
    public Set<Long> periodsBefore(long period) {
        Set<Long> out = new HashSet<>(local.periodsBefore(period));
        Set<String> shared = get(redis.call(c -> c.smembers(PREFIX + "periods")));
        if (shared != null) {
            for (String p : shared) {
                long v = Long.parseLong(p);
                if (v < period) {
                    out.add(v);
                }
            }
        }
        return out;
    }

    @Override
    public Set<String> domains(long period) {
        Set<String> out = new HashSet<>(local.domains(period));
        Set<String> shared = get(redis.call(c -> c.smembers(PREFIX + period + ":domains")));
        if (shared != null) {
            out.addAll(shared);
        }
        return out;
    }

    @Override
    public ReportCounts counts(long period, String domain) {
        ReportCounts c = new ReportCounts();
        ReportCounts mine = local.counts(period, domain);
        c.add(mine);
        Map<String, String> shared = get(redis.call(x -> x.hgetall(key(period, domain))));
        Map<String, String> details = get(redis.call(x -> x.hgetall(key(period, domain) + ":detail")));
        if (shared != null) {
            shared.forEach((field, n) -> c.add(field, Long.parseLong(n), details == null ? "" : details.getOrDefault(field, "")));
        }
        return c;
    }

    @Override
    public boolean claim(long period, String domain) {
        String won = get(redis.call(c -> c.set(key(period, domain) + ":sent", redis.node(),
                SetArgs.Builder.nx().ex(CLAIM_SECONDS))));
        if (won != null) {
            return true;
        }
        if (!redis.shared()) {
            // Redis is away: what this node counted alone it may send itself; the shared part waits for Redis.
            return local.domains(period).contains(domain);
        }
        if (local.domains(period).contains(domain)) {
            // Another node sent it; what this node counted while Redis was away came too late for that report.
            LoggerFactory.getLogger(SharedReportStore.class).info("TLS reports: {} sessions to {} counted while Redis was "
                    + "away are not in the report another node sent", local.counts(period, domain).policies().values().stream()
                    .mapToLong(c -> c.success() + c.failure()).sum(), domain);
            local.done(period, domain);
        }
        return false;
    }

    @Override
    public void done(long period, String domain) {
        redis.call(c -> c.del(key(period, domain), key(period, domain) + ":detail"));
        redis.call(c -> c.srem(PREFIX + period + ":domains", domain)).thenAccept(n -> redis.call(c -> c.scard(PREFIX + period
                + ":domains")).thenAccept(left -> {
                    if (left == 0) {
                        redis.call(c -> c.srem(PREFIX + "periods", String.valueOf(period)));
                    }
                }));
        local.done(period, domain);
    }

    @Override
    public void flush() {
        local.flush();
    }

    @Override
    public void close() {
        local.close();
    }
}
