package org.relaymta.core.internal.cluster;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.relaymta.config.internal.ClusterSettings;
import org.relaymta.core.internal.delivery.RelayHealth;
import org.relaymta.core.internal.quota.LocalQuotas;
import org.relaymta.core.internal.quota.Quotas;

/**
 * This node's part in a group of relay nodes: without {@code MTA_REDIS_URL}, quotas counted here;
 * with it, quotas and relay health shared through Redis (falling back to this node's share while
 * Redis is away). Each node keeps its own spool: Redis never holds mail.
 */
public final class Cluster implements AutoCloseable {
    /** What {@code /health} and {@code mta_cluster_shared} report. */
    public record Status(boolean shared, int nodes, String redis) {
    }

    private final Quotas quotas;
    private final RedisLink redis;
    private final ScheduledExecutorService timer;
    private final int nodes;

    private Cluster(Quotas quotas, RedisLink redis, ScheduledExecutorService timer, int nodes) {
        this.quotas = quotas;
        this.redis = redis;
        this.timer = timer;
        this.nodes = nodes;
    }

    /**
     * @param node this node's name among the others (unique per process)
     * @throws IllegalStateException when Redis is asked for and Lettuce is not on the class path
     */
    public static Cluster start(ClusterSettings settings, String node, RelayHealth health, Clock clock) {
        if (settings.redis().isEmpty()) {
            return new Cluster(new LocalQuotas(clock), null, null, 1);
        }
        try {
            Class.forName("io.lettuce.core.RedisClient", false, Cluster.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("MTA_REDIS_URL is set but the Redis client is missing: add "
                    + "io.lettuce:lettuce-core (6.8) to the application's dependencies");
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mta-cluster");
            t.setDaemon(true);
            return t;
        });
        RedisLink link = new RedisLink(settings.redis().get(), node, timer);
        // Subscribed before the first connection, so no announcement is missed.
        new SharedRelayHealth(link, health, clock).start();
        link.start();
        return new Cluster(new SharedQuotas(link, clock, settings.nodes()), link, timer, settings.nodes());
    }

    /** The Redis link shared by the nodes; empty when this node runs alone. */
    public Optional<RedisLink> link() {
        return Optional.ofNullable(redis);
    }

    public Quotas quotas() {
        return quotas;
    }

    /** Empty when this node runs alone (no {@code MTA_REDIS_URL}). */
    public Optional<Status> status() {
        if (redis == null) {
            return Optional.empty();
        }
        return Optional.of(new Status(redis.shared(), nodes, redis.describe()));
    }

    @Override
    public void close() {
        if (redis != null) {
            redis.close();
            timer.shutdownNow();
        }
    }
}
