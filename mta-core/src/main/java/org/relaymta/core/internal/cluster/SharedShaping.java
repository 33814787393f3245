package org.relaymta.core.internal.cluster;

import io.lettuce.core.KeyValue;
import io.lettuce.core.SetArgs;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.relaymta.core.internal.shaping.ShapingAction;
import org.relaymta.core.internal.shaping.Shaper;

/**
 * Shaping shared by the nodes: an action a node starts or deepens (one node's 421 storm) is
 * published and kept in Redis until it would end, so every node throttles or suspends that
 * destination; a node that starts or reconnects later loads what is in force. A lift by an
 * operator is published too. Steps back are not published: every node computes them from the same
 * times. The throttled rate itself is a quota, counted in Redis for all nodes together.
 */
public final class SharedShaping {
    static final String CHANNEL = "mta:shaping";
    static final String KEY_PREFIX = "mta:shaping:";

    private final RedisLink redis;
    private final Shaper shaper;
    private final Clock clock;

    public SharedShaping(RedisLink redis, Shaper shaper, Clock clock) {
        this.redis = redis;
        this.shaper = shaper;
        this.clock = clock;
    }

    public SharedShaping start() {
        shaper.onChange(this::changed);
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

    private void changed(Shaper.Change c) {
        ShapingAction a = c.action();
        switch (c.kind()) {
            case STARTED, DEEPENED -> {
                String line = a.encode();
                long keep = Math.max(1000, Duration.between(clock.instant(), a.ends()).toMillis());
                redis.call(x -> x.set(KEY_PREFIX + a.destination(), line, SetArgs.Builder.px(keep)));
                redis.call(x -> x.publish(CHANNEL, "set " + redis.node() + "\t" + line));
            }
            case CLEARED -> {
                redis.call(x -> x.del(KEY_PREFIX + a.destination()));
                redis.call(x -> x.publish(CHANNEL, "clear " + redis.node() + "\t" + a.destination()));
            }
            default -> {
                // steps back and ends: each node computes them itself
            }
        }
    }

    private void load() {
        redis.<List<String>>call(c -> c.keys(KEY_PREFIX + "*")).thenAccept(keys -> {
            if (!keys.isEmpty()) {
                redis.<List<KeyValue<String, String>>>call(c -> c.mget(keys.toArray(String[]::new)))
                        .thenAccept(values -> values.forEach(kv -> kv.ifHasValue(v -> {
                            ShapingAction a = ShapingAction.decodeShared(v);
                            if (a != null) {
                                shaper.appliedElsewhere(a);
                            }
                        })));
            }
        });
    }

    /** "set NODE\tACTION" or "clear NODE\tDESTINATION"; this node's own are ignored. */
    void received(String message) {
        int sp = message.indexOf(' ');
        int tab = message.indexOf('\t');
        if (sp < 0 || tab < sp || message.substring(sp + 1, tab).equals(redis.node())) {
            return;
        }
        String body = message.substring(tab + 1);
        if (message.startsWith("set ")) {
            ShapingAction a = ShapingAction.decodeShared(body);
            if (a != null) {
                shaper.appliedElsewhere(a);
            }
        } else if (message.startsWith("clear ")) {
            shaper.clearedElsewhere(body);
        }
    }
}
