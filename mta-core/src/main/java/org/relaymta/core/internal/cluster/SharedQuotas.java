package org.relaymta.core.internal.cluster;

import io.lettuce.core.ScriptOutputType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.core.internal.quota.LocalQuotas;
import org.relaymta.core.internal.quota.QuotaDelay;
import org.relaymta.core.internal.quota.Quotas;

/**
 * Provider quotas counted in Redis for all relay nodes together: one server-side script checks
 * every applicable rate (GCRA, on Redis's own clock so the nodes' clocks need not agree) and
 * concurrency cap, and counts the transaction only when all allow, atomically. Concurrency is a
 * set of leases per key (expiring after {@link #LEASE}, so a node that dies gives its slots back).
 * While Redis cannot be reached, this node counts its share ({@code 1/MTA_CLUSTER_NODES}) of every
 * quota locally.
 */
public final class SharedQuotas implements Quotas {
    /** How long a concurrency slot is held at most when its node never gives it back. */
    static final Duration LEASE = Duration.ofMinutes(10);

    /*
     * KEYS: the rate keys, the concurrency keys, then the warm-up keys (one per key and UTC day).
     * ARGV: whether to count (1) or only look (0), the slack (microseconds: a rate slot within it
     * admits when only looking), the rate count, then per rate its interval and tolerance
     * (microseconds) and cost; the concurrency count, then per key its limit; the warm-up count,
     * then per key the day's volume; the lease (microseconds) and the member naming this
     * transaction. Returns {0} when admitted, or {1, wait in microseconds, index of the limiting
     * key (1-based)}; a warm-up's wait is a day (the caller says until the next UTC day).
     */
    static final String SCRIPT = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local count, slack = tonumber(ARGV[1]) == 1, tonumber(ARGV[2])
            local nr = tonumber(ARGV[3])
            local worst, worstAt = -1, 0
            local tats = {}
            local a = 4
            for i = 1, nr do
              local interval, tol, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
              a = a + 3
              local tat = tonumber(redis.call('GET', KEYS[i]) or now)
              local base = tat
              if base < now then base = now end
              local nt = base + interval * cost
              if nt - now > tol then
                local wait = nt - tol - now
                if interval * cost > tol then
                  if base > now then wait = base - now else wait = -1 end
                end
                if wait >= 0 and wait <= slack then wait = -1 end
                if wait >= 0 and wait > worst then worst, worstAt = wait, i end
                if wait < 0 then tats[i] = nt end
              else
                tats[i] = nt
              end
            end
            local nc = tonumber(ARGV[a])
            a = a + 1
            for j = 1, nc do
              local k, limit = KEYS[nr + j], tonumber(ARGV[a + j - 1])
              redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
              if redis.call('ZCARD', k) >= limit and worst < 1000000 then
                worst, worstAt = 1000000, nr + j
              end
            end
            a = a + nc
            local nw = tonumber(ARGV[a])
            a = a + 1
            for w = 1, nw do
              local sent = tonumber(redis.call('GET', KEYS[nr + nc + w]) or 0)
              if sent >= tonumber(ARGV[a + w - 1]) then worst, worstAt = 86400000000, nr + nc + w end
            end
            a = a + nw
            local lease, member = tonumber(ARGV[a]), ARGV[a + 1]
            if worst >= 0 then return {1, math.floor(worst), worstAt} end
            if count then
              for i = 1, nr do
                redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.floor((tats[i] - now) / 1000) + 1000)
              end
              for w = 1, nw do
                redis.call('INCR', KEYS[nr + nc + w])
                redis.call('PEXPIRE', KEYS[nr + nc + w], 172800000)
              end
            end
            for j = 1, nc do
              local k = KEYS[nr + j]
              redis.call('ZADD', k, string.format('%.0f', now + lease), member)
              redis.call('PEXPIRE', k, math.floor(lease / 1000))
            end
            return {0}
            """;

    private final RedisLink redis;
    private final LocalQuotas fallback;
    private final Clock clock;
    private final AtomicLong sequence = new AtomicLong();
    private final List<Consumer<String>> freed = new CopyOnWriteArrayList<>();

    /** @param nodes {@code MTA_CLUSTER_NODES}: the share this node takes of each quota while Redis is away */
    public SharedQuotas(RedisLink redis, Clock clock, int nodes) {
        this.redis = redis;
        this.clock = clock;
        this.fallback = new LocalQuotas(clock, nodes);
        fallback.onFreed(this::tellFreed);
        redis.subscribe(FREED, this::tellFreed);
    }

    /** Where a node says which key's concurrency slot it gave back. */
    static final String FREED = "mta:quota:freed";

    @Override
    public void onFreed(Consumer<String> listener) {
        freed.add(listener);
    }

    private void tellFreed(String key) {
        freed.forEach(f -> f.accept(key));
    }

    /** What one limit asks of the script, and how to name it when it delays. */
    private record Part(String redisKey, RelayLimits.Limit limit, String setting) {
    }

    @Override
    public CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients, Phase phase) {
        if (limits.isEmpty()) {
            return CompletableFuture.completedFuture(Admission.free());
        }
        if (!redis.shared()) {
            return CompletableFuture.completedFuture(fallback.admitNow(limits, recipients, phase));
        }
        LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
        List<Part> rates = new ArrayList<>();
        List<String> rateArgs = new ArrayList<>();
        List<Part> caps = new ArrayList<>();
        List<String> capArgs = new ArrayList<>();
        List<Part> warmups = new ArrayList<>();
        List<String> warmupArgs = new ArrayList<>();
        for (RelayLimits.Limit l : limits) {
            rate(l, "messages", l.messages(), 1, rates, rateArgs);
            rate(l, "recipients", l.recipients(), recipients, rates, rateArgs);
            if (l.concurrency() != null && phase != Phase.SEND) {
                caps.add(new Part("mta:concurrency:" + l.key(), l, "concurrency=" + l.concurrency()));
                capArgs.add(Integer.toString(l.concurrency()));
            }
            OptionalLong volume = l.warmup() == null ? OptionalLong.empty() : l.warmup().volumeOn(today);
            if (volume.isPresent()) {
                warmups.add(new Part("mta:warmup:" + l.key() + ":" + today, l,
                        l.warmup().written() + " (" + volume.getAsLong() + " on " + today + ")"));
                warmupArgs.add(Long.toString(volume.getAsLong()));
            }
        }
        if (rates.isEmpty() && caps.isEmpty() && warmups.isEmpty()) {
            return CompletableFuture.completedFuture(Admission.free());
        }
        List<Part> parts = new ArrayList<>(rates);
        parts.addAll(caps);
        parts.addAll(warmups);
        String member = redis.node() + ":" + sequence.incrementAndGet();
        List<String> args = new ArrayList<>();
        args.add(phase == Phase.RESERVE ? "0" : "1");
        args.add(Long.toString(phase == Phase.RESERVE ? SEND_WAIT.toNanos() / 1000 : 0));
        args.add(Integer.toString(rates.size()));
        args.addAll(rateArgs);
        args.add(Integer.toString(caps.size()));
        args.addAll(capArgs);
        args.add(Integer.toString(warmups.size()));
        args.addAll(warmupArgs);
        args.add(Long.toString(LEASE.toNanos() / 1000));
        args.add(member);
        String[] keys = parts.stream().map(Part::redisKey).toArray(String[]::new);
        return redis.<List<Object>>call(c -> c.eval(SCRIPT, ScriptOutputType.MULTI, keys, args.toArray(String[]::new)))
                .handle((reply, failure) -> {
                    if (failure != null) {
                        // Redis went away in between: this node's share, counted here.
                        return fallback.admitNow(limits, recipients, phase);
                    }
                    if (((Number) reply.get(0)).longValue() == 0) {
                        return caps.isEmpty() ? Admission.admitted(() -> { })
                                : Admission.admitted(() -> release(caps, member));
                    }
                    long waitMicros = ((Number) reply.get(1)).longValue();
                    int at = (int) ((Number) reply.get(2)).longValue() - 1;
                    Part limiting = parts.get(at);
                    Instant until = at >= rates.size() + caps.size()
                            ? today.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant()
                            : clock.instant().plus(Duration.ofNanos(waitMicros * 1000));
                    return Admission.delayed(new QuotaDelay(until, limiting.limit().key(), limiting.setting()));
                });
    }

    private static void rate(RelayLimits.Limit l, String name, RelayLimits.Rate rate, int cost, List<Part> parts,
                             List<String> args) {
        if (rate == null || cost <= 0) {
            return;
        }
        parts.add(new Part("mta:quota:" + l.key() + ":" + name, l, rate.written()));
        long interval = rate.interval().toNanos() / 1000;
        args.add(Long.toString(interval));
        args.add(Long.toString(interval * rate.count()));
        args.add(Integer.toString(cost));
    }

    /** Gives a transaction's concurrency slots back (and says so to every node); if Redis is away now, their leases expire. */
    private void release(List<Part> caps, String member) {
        for (Part p : caps) {
            redis.call(c -> c.zrem(p.redisKey(), member))
                    .thenRun(() -> redis.call(c -> c.publish(FREED, p.limit().key())));
        }
    }
}
