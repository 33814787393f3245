package org.relaymta.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.relaymta.config.internal.ClusterSettings;
import org.relaymta.config.internal.Json;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.core.internal.cluster.RedisLink;
import org.relaymta.core.internal.cluster.RedisSpoolLeases;
import org.relaymta.core.internal.cluster.SpoolLeases;
import org.relaymta.core.internal.cluster.SpoolTakeover;
import org.relaymta.core.internal.spool.SpoolFence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's part in spool takeover ({@code MTA_SPOOL_TAKEOVER=on}): claims its own spool
 * under the root (waiting while another node still runs it), then every third of the lease runs
 * {@link SpoolTakeover}'s round, and runs each spool it adopts as a second engine with no listener
 * (the same configuration, routing and quotas; no new mail goes into it).
 */
final class SpoolOwnership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("org.relaymta.cluster");

    private final ClusterSettings.Takeover settings;
    private final RedisLink redis;
    private final ScheduledExecutorService timer;
    private final SpoolLeases leases;
    private final SpoolTakeover takeover;
    private final SpoolFence fence;
    private final Map<String, RelayEngine> adopted;

    private SpoolOwnership(ClusterSettings.Takeover settings, RedisLink redis, ScheduledExecutorService timer,
                           SpoolLeases leases, SpoolTakeover takeover, SpoolFence fence, Map<String, RelayEngine> adopted) {
        this.adopted = adopted;
        this.settings = settings;
        this.redis = redis;
        this.timer = timer;
        this.leases = leases;
        this.takeover = takeover;
        this.fence = fence;
    }

    /**
     * Claims this node's spool under {@code root}: returns once its lease is this node's and its
     * generation written (waiting, and saying so once, while an adopter still runs it).
     *
     * @param adoptedEngine how an adopted spool's engine is built (spool directory and fence set by the caller)
     */
    static SpoolOwnership claim(Path root, ClusterSettings cluster, Clock clock, Supplier<RelayEngine.Builder> adoptedEngine,
                                Consumer<String> lost, MeterRegistry registry) throws IOException {
        ClusterSettings.Takeover t = cluster.takeover();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "mta-spool-takeover");
            th.setDaemon(true);
            return th;
        });
        RedisLink redis = new RedisLink(cluster.redis().orElseThrow(), t.nodeId() + "/spool", timer).start();
        SpoolLeases leases = new RedisSpoolLeases(redis);
        Map<String, RelayEngine> engines = new ConcurrentHashMap<>();
        SpoolTakeover takeover = new SpoolTakeover(root, t.nodeId(), leases, t.lease(), clock, (dir, f) -> {
            RelayEngine.Builder b = adoptedEngine.get().spoolDirectory(dir).meterRegistry(new SimpleMeterRegistry());
            EngineAccess.fence(b, f, true);
            RelayEngine engine = b.build().start();
            String name = dir.getFileName().toString();
            engines.put(name, engine);
            // mta_spool_adopted{spool}: 1 while this node runs that spool, 0 after (registered once per spool).
            Gauge.builder("mta.spool.adopted", engines, m -> m.containsKey(name) ? 1 : 0)
                    .description("1 while this node runs another node's spool").tag("spool", name).register(registry);
            return new SpoolTakeover.Adopted() {
                @Override
                public boolean drained() {
                    return engine.queue().size() == 0;
                }

                @Override
                public void stop() {
                    engines.remove(name);
                    engine.close();
                }
            };
        }, lost);
        boolean said = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            OptionalLong g;
            try {
                g = takeover.claimOwn();
            } catch (IOException e) {
                timer.shutdownNow();
                redis.close();
                throw e;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    timer.shutdownNow();
                    redis.close();
                    throw new IOException("spool takeover: cannot reach Redis to claim spool " + takeover.ownSpool() + ": "
                            + e.getMessage(), e);
                }
                sleep(500);
                continue;
            }
            if (g.isPresent()) {
                break;
            }
            if (!said) {
                said = true;
                log.warn("spool takeover: spool {} is run by node {} since this node's lease lapsed; waiting for it to hand "
                        + "it back (drained, or at once with 'mta cluster handback {}' there)", takeover.ownSpool(),
                        takeover.ownHolder(), t.nodeId());
            }
            sleep(1000);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        }
        SpoolFence fence = takeover.fenceOwn();
        log.info("spool takeover: node {} runs spool {} (generation {}), lease {}", t.nodeId(), takeover.ownSpool(),
                fence.generation(), t.lease());
        return new SpoolOwnership(t, redis, timer, leases, takeover, fence, engines);
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while claiming the spool");
        }
    }

    Path spoolDir() {
        return takeover.ownSpool();
    }

    SpoolFence fence() {
        return fence;
    }

    boolean exitWhenFenced() {
        return settings.exitWhenFenced();
    }

    /** Starts the rounds (every third of the lease) and the metrics. */
    void run(MeterRegistry registry) {
        long every = Math.max(200, settings.lease().toMillis() / 3);
        timer.scheduleWithFixedDelay(takeover::tick, every, every, TimeUnit.MILLISECONDS);
        FunctionCounter.builder("mta.takeover", takeover, t -> t.status().takeovers())
                .description("Spools of other nodes this node adopted").register(registry);
    }

    boolean fenced() {
        return takeover.status().fenced();
    }

    /** {@code /health} and {@code GET /cluster}: this node, its generation, what it adopted, and every lease. */
    JsonObject status() {
        SpoolTakeover.Status s = takeover.status();
        JsonObject o = Json.object();
        o.addProperty("node", s.node());
        o.addProperty("spool", s.spool());
        o.addProperty("generation", s.generation());
        o.addProperty("fenced", s.fenced());
        JsonArray a = new JsonArray();
        s.adopted().forEach((spool, gen) -> {
            JsonObject x = Json.object();
            x.addProperty("spool", spool);
            x.addProperty("generation", gen);
            RelayEngine e = adopted.get(spool);
            x.addProperty("queue_size", e == null ? 0 : e.queue().size());
            a.add(x);
        });
        o.add("adopted", a);
        o.addProperty("takeovers", s.takeovers());
        return o;
    }

    /** Every lease held now (GET /cluster): spool, node, generation; empty when Redis does not answer. */
    JsonArray leases() {
        JsonArray out = new JsonArray();
        try {
            leases.all().forEach((spool, h) -> {
                JsonObject x = Json.object();
                x.addProperty("spool", spool);
                x.addProperty("node", h.node());
                x.addProperty("generation", h.generation());
                out.add(x);
            });
        } catch (Exception e) {
            // shown as none
        }
        return out;
    }

    /** {@code mta cluster handback SPOOL}: the node running {@code spool} gives it back to its returning owner at once. */
    void handBack(String spool) throws Exception {
        leases.handBackNow(spool, settings.lease().multipliedBy(4));
    }

    @Override
    public void close() {
        timer.shutdownNow();
        takeover.close();
        redis.close();
    }
}
