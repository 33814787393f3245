package org.relaymta.core.internal.cluster;

import io.lettuce.core.KeyValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Spool leases in Redis: {@code mta:spool:lease:SPOOL} holds "NODE GENERATION" and expires after the
 * lease time; {@code mta:spool:gen:SPOOL} is the generation counter. Taking and keeping a lease are
 * server-side scripts, so two nodes never both take one. When Redis restarts empty, the owner's
 * next renewal puts its lease back with its generation (and the counter at least there), and a
 * taker asks for a generation above the one written in the spool, so generations never go back.
 */
public final class RedisSpoolLeases implements SpoolLeases {
    private static final String LEASE = "mta:spool:lease:";
    private static final String GEN = "mta:spool:gen:";
    private static final String ASK = "mta:spool:ask:";
    private static final String NOW = "mta:spool:handback:";
    private static final String EPOCH = "mta:spool:epoch";
    private static final long TIMEOUT_SECONDS = 5;

    /* KEYS: lease, counter. ARGV: node, lease ms, at least. Returns the generation, or -1 when held. */
    static final String ACQUIRE = """
            if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
            local g = redis.call('INCR', KEYS[2])
            local least = tonumber(ARGV[3])
            if g <= least then
              g = least + 1
              redis.call('SET', KEYS[2], g)
            end
            redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. g, 'PX', tonumber(ARGV[2]))
            return g
            """;

    /* KEYS: lease, counter. ARGV: "node generation", lease ms, generation. Returns 1 when held (again), 0 when another holds it. */
    static final String RENEW = """
            local v = redis.call('GET', KEYS[1])
            if v == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
              return 1
            end
            if v then return 0 end
            local g = tonumber(redis.call('GET', KEYS[2]) or 0)
            if g > tonumber(ARGV[3]) then return 0 end
            redis.call('SET', KEYS[2], ARGV[3])
            redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
            return 1
            """;

    /* KEYS: lease. ARGV: "node generation". */
    static final String RELEASE = """
            if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
            return 1
            """;

    private final RedisLink redis;

    public RedisSpoolLeases(RedisLink redis) {
        this.redis = redis;
    }

    private <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public OptionalLong acquire(String spool, String node, Duration lease, long atLeast) throws Exception {
        Long g = await(redis.<Long>call(c -> c.eval(ACQUIRE, ScriptOutputType.INTEGER, new String[] {LEASE + spool, GEN + spool},
                node, Long.toString(lease.toMillis()), Long.toString(atLeast))));
        return g == null || g < 0 ? OptionalLong.empty() : OptionalLong.of(g);
    }

    @Override
    public boolean renew(String spool, String node, long generation, Duration lease) throws Exception {
        Long r = await(redis.<Long>call(c -> c.eval(RENEW, ScriptOutputType.INTEGER, new String[] {LEASE + spool, GEN + spool},
                node + " " + generation, Long.toString(lease.toMillis()), Long.toString(generation))));
        return r != null && r == 1;
    }

    @Override
    public void release(String spool, String node, long generation) throws Exception {
        await(redis.<Long>call(c -> c.eval(RELEASE, ScriptOutputType.INTEGER, new String[] {LEASE + spool},
                node + " " + generation)));
    }

    @Override
    public Optional<Holder> holder(String spool) throws Exception {
        return parse(await(redis.<String>call(c -> c.get(LEASE + spool))));
    }

    private static Optional<Holder> parse(String v) {
        if (v == null) {
            return Optional.empty();
        }
        int sp = v.lastIndexOf(' ');
        try {
            return Optional.of(new Holder(v.substring(0, sp), Long.parseLong(v.substring(sp + 1))));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public Map<String, Holder> all() throws Exception {
        List<String> keys = await(redis.<List<String>>call(c -> c.keys(LEASE + "*")));
        Map<String, Holder> out = new LinkedHashMap<>();
        if (keys.isEmpty()) {
            return out;
        }
        List<KeyValue<String, String>> values = await(redis.<List<KeyValue<String, String>>>call(
                c -> c.mget(keys.toArray(String[]::new))));
        for (KeyValue<String, String> kv : values) {
            kv.ifHasValue(v -> parse(v).ifPresent(h -> out.put(kv.getKey().substring(LEASE.length()), h)));
        }
        return out;
    }

    @Override
    public void ask(String spool, String node, Duration ttl) throws Exception {
        await(redis.<String>call(c -> c.set(ASK + spool, node, SetArgs.Builder.px(ttl.toMillis()))));
    }

    @Override
    public boolean asked(String spool) throws Exception {
        return await(redis.<Long>call(c -> c.exists(ASK + spool))) > 0;
    }

    @Override
    public void handBackNow(String spool, Duration ttl) throws Exception {
        await(redis.<String>call(c -> c.set(NOW + spool, "1", SetArgs.Builder.px(ttl.toMillis()))));
    }

    @Override
    public String epoch() throws Exception {
        String mine = Long.toHexString(System.nanoTime()) + Long.toHexString(Double.doubleToLongBits(Math.random()));
        await(redis.<String>call(c -> c.set(EPOCH, mine, SetArgs.Builder.nx())));
        return await(redis.<String>call(c -> c.get(EPOCH)));
    }

    @Override
    public boolean handBackNowAsked(String spool) throws Exception {
        return await(redis.<Long>call(c -> c.exists(NOW + spool))) > 0;
    }
}
