package org.relaymta.core.internal.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.relaymta.config.internal.ClusterSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's connection to the Redis that the relay nodes share ({@code MTA_REDIS_URL}), and
 * whether it works: {@linkplain #shared() shared} while commands succeed; after a failure the node
 * counts locally (the callers fall back) and a check every second brings it back. Redis never holds
 * mail, only quota counters and relay health. Lettuce reconnects by itself; commands fail at once
 * while it is disconnected instead of queueing, so no delivery waits for Redis.
 */
public final class RedisLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("org.relaymta.cluster");
    static final Duration COMMAND_TIMEOUT = Duration.ofMillis(500);
    static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

    private final ClusterSettings.Redis where;
    private final String node;
    private final ScheduledExecutorService timer;
    private final ClientResources resources;
    private final RedisClient client;
    private final List<Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, Consumer<String>> subscriptions = new ConcurrentHashMap<>();
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile StatefulRedisPubSubConnection<String, String> pubSub;
    private volatile boolean shared;
    private volatile String lastProblem = "not connected yet";
    private ScheduledFuture<?> checks;
    private volatile boolean closed;

    /**
     * @param node  this node's name in shared state (host and process), so it can tell its own
     *              announcements from others'
     * @param timer runs the reconnect checks; owned by the caller
     */
    public RedisLink(ClusterSettings.Redis where, String node, ScheduledExecutorService timer) {
        this.where = where;
        this.node = node;
        this.timer = timer;
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(1).computationThreadPoolSize(1)
                .reconnectDelay(Delay.constant(CHECK_INTERVAL)).build();
        RedisURI.Builder uri = RedisURI.builder().withHost(where.host()).withPort(where.port()).withDatabase(where.database())
                .withSsl(where.tls()).withTimeout(COMMAND_TIMEOUT);
        if (where.password().isPresent()) {
            if (where.user().isPresent()) {
                uri.withAuthentication(where.user().get(), where.password().get());
            } else {
                uri.withPassword(where.password().get().toCharArray());
            }
        }
        this.client = RedisClient.create(resources, uri.build());
        client.setOptions(ClientOptions.builder().autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build()).build());
    }

    /** Connects (a Redis that is down now is no reason not to start: the node counts locally until it is up). */
    public RedisLink start() {
        checkNow();
        if (!shared) {
            LOG.warn("cannot reach Redis at {}: {}; quotas are counted on this node (its share of each) until it is back",
                    where, lastProblem);
        }
        checks = timer.scheduleWithFixedDelay(() -> {
            if (!shared && !closed) {
                checkNow();
            }
        }, CHECK_INTERVAL.toMillis(), CHECK_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    public String node() {
        return node;
    }

    /** Whether quotas are counted in Redis now. */
    public boolean shared() {
        return shared;
    }

    /** Where Redis is, without the password; and the last problem when not shared. */
    public String describe() {
        return where + (shared ? "" : " (" + lastProblem + ")");
    }

    /** Told true when counting becomes shared again, false when it falls back to local. */
    public void onChange(Consumer<Boolean> listener) {
        listeners.add(listener);
    }

    /**
     * Runs one command; a failure (Redis down, a timeout) switches this node to local counting and
     * fails the future, for the caller to answer locally.
     */
    public <T> CompletableFuture<T> call(Function<RedisAsyncCommands<String, String>, CompletionStage<T>> command) {
        StatefulRedisConnection<String, String> c = connection;
        if (!shared || c == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("Redis not shared now"));
        }
        CompletableFuture<T> out = new CompletableFuture<>();
        try {
            command.apply(c.async()).whenComplete((v, e) -> {
                if (e != null) {
                    failed(e);
                    out.completeExceptionally(e);
                } else {
                    out.complete(v);
                }
            });
        } catch (RuntimeException e) {
            failed(e);
            out.completeExceptionally(e);
        }
        return out;
    }

    /** Receives the messages published on {@code channel} (again after every reconnect). */
    public void subscribe(String channel, Consumer<String> receiver) {
        subscriptions.put(channel, receiver);
        StatefulRedisPubSubConnection<String, String> p = pubSub;
        if (p != null) {
            p.async().subscribe(channel);
        }
    }

    /** A command failed: count locally until a check finds Redis again. */
    void failed(Throwable e) {
        lastProblem = problem(e);
        if (shared) {
            shared = false;
            LOG.warn("Redis at {} failed: {}; quotas are counted on this node (its share of each) until it is back",
                    where, lastProblem);
            listeners.forEach(l -> l.accept(false));
        }
    }

    /** Connects if needed and pings; shared again when Redis answers. */
    public synchronized void checkNow() {
        if (closed) {
            return;
        }
        try {
            if (connection == null) {
                connection = client.connect();
            }
            if (pubSub == null) {
                StatefulRedisPubSubConnection<String, String> p = client.connectPubSub();
                p.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, String message) {
                        Consumer<String> r = subscriptions.get(channel);
                        if (r != null) {
                            r.accept(message);
                        }
                    }
                });
                if (!subscriptions.isEmpty()) {
                    p.sync().subscribe(subscriptions.keySet().toArray(String[]::new));
                }
                pubSub = p;
            }
            connection.sync().ping();
            if (!shared) {
                shared = true;
                if (!"not connected yet".equals(lastProblem)) {
                    LOG.warn("Redis at {} is back: quotas and relay health are shared again", where);
                } else {
                    LOG.info("quotas and relay health shared through Redis at {} as node {}", where, node);
                }
                listeners.forEach(l -> l.accept(true));
            }
        } catch (RuntimeException e) {
            if (shared) {
                failed(e);
            } else {
                lastProblem = problem(e);
            }
        }
    }

    /** The innermost cause's message: what went wrong with Redis, for the log and /health. */
    private static String problem(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    @Override
    public void close() {
        closed = true;
        if (checks != null) {
            checks.cancel(false);
        }
        try {
            if (pubSub != null) {
                pubSub.close();
            }
            if (connection != null) {
                connection.close();
            }
        } catch (RuntimeException e) {
            LOG.debug("closing the Redis connection: {}", e.toString());
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
