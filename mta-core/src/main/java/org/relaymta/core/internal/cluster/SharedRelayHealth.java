package org.relaymta.core.internal.cluster;

import io.lettuce.core.KeyValue;
import io.lettuce.core.SetArgs;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.relaymta.core.internal.delivery.RelayHealth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relay health shared by the nodes: when a node opens a next hop's circuit breaker it publishes
 * the hop and until when, and keeps it in Redis for nodes that start (or reconnect) later; the
 * others stop trying that hop too. A good session anywhere closes it everywhere. Failures are
 * counted per node; after the cool-down each node sends its own probe. Times are wall-clock
 * instants, so the nodes' clocks should agree (NTP) to within a small part of the 1-minute cool-down.
 */
public final class SharedRelayHealth implements RelayHealth.Announcer {
    private static final Logger LOG = LoggerFactory.getLogger("org.relaymta.cluster");
    static final String CHANNEL = "mta:relay-health";
    static final String KEY_PREFIX = "mta:relay-health:";

    private final RedisLink redis;
    private final RelayHealth health;
    private final Clock clock;

    public SharedRelayHealth(RedisLink redis, RelayHealth health, Clock clock) {
        this.redis = redis;
        this.health = health;
        this.clock = clock;
    }

    /** Subscribes, then loads what is open now (and again whenever Redis comes back). */
    public SharedRelayHealth start() {
        health.announceTo(this);
        redis.subscribe(CHANNEL, this::received);
        redis.onChange(up -> {
            if (up) {
                load();
            }
        });
        if (redis.shared()) {
            load();
        }
        return this;
    }

    @Override
    public void opened(String hop, Instant until, int opens) {
        String message = "open " + redis.node() + " " + until.toEpochMilli() + " " + opens + " " + hop;
        long keep = Math.max(1000, Duration.between(clock.instant(), until).toMillis());
        redis.call(c -> c.set(KEY_PREFIX + hop, message, SetArgs.Builder.px(keep)));
        redis.call(c -> c.publish(CHANNEL, message));
    }

    @Override
    public void closed(String hop) {
        redis.call(c -> c.del(KEY_PREFIX + hop));
        redis.call(c -> c.publish(CHANNEL, "closed " + redis.node() + " 0 0 " + hop));
    }

    private void load() {
        redis.<List<String>>call(c -> c.keys(KEY_PREFIX + "*")).thenAccept(keys -> {
            if (!keys.isEmpty()) {
                redis.<List<KeyValue<String, String>>>call(c -> c.mget(keys.toArray(String[]::new)))
                        .thenAccept(values -> values.forEach(kv -> kv.ifHasValue(this::received)));
            }
        });
    }

    /** One announcement: "open|closed NODE UNTIL-MILLIS OPENS HOP"; this node's own are ignored. */
    void received(String message) {
        String[] f = message.split(" ", 5);
        if (f.length != 5 || f[1].equals(redis.node())) {
            return;
        }
        try {
            if (f[0].equals("open")) {
                Instant until = Instant.ofEpochMilli(Long.parseLong(f[2]));
                health.openedElsewhere(f[4], until, Integer.parseInt(f[3]));
                LOG.debug("relay {} opened by node {} until {}", f[4], f[1], until);
            } else if (f[0].equals("closed")) {
                health.closedElsewhere(f[4]);
            }
        } catch (NumberFormatException e) {
            LOG.debug("ignoring a malformed relay health announcement");
        }
    }
}
