package org.relaymta.core.internal.delivery;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A circuit breaker per relay next hop (as written in the settings): after {@code threshold}
 * consecutive failed sessions (connect, 4xx greeting, TLS or AUTH failure, timeout) the hop is
 * open: no connection is tried for a cool-down (1 minute, doubling with each failed probe up to 15
 * minutes), then one delivery probes it (half-open). A good session closes it again. Direct MX
 * delivery has no breaker; its servers are ordered by the route database instead.
 */
public final class RelayHealth {
    /** A hop's state, as {@code mta_relay_hop_state} reports it: 0 closed, 1 half-open, 2 open. */
    public enum State {
        CLOSED, HALF_OPEN, OPEN;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    static final Duration FIRST_COOL_DOWN = Duration.ofMinutes(1);
    static final Duration MAX_COOL_DOWN = Duration.ofMinutes(15);
    /** A probe that never reported back (its attempt ended elsewhere) stops blocking others after this. */
    static final Duration PROBE_LIMIT = Duration.ofMinutes(5);

    /** Told of this node's own transitions, to share them with other nodes. */
    public interface Announcer {
        void opened(String hop, Instant until, int opens);

        void closed(String hop);
    }

    private final Clock clock;
    private final Map<String, Breaker> breakers = new ConcurrentHashMap<>();
    private volatile Consumer<String> newHop = hop -> { };
    private volatile Announcer announcer;

    public RelayHealth(Clock clock) {
        this.clock = clock;
    }

    private static final class Breaker {
        State state = State.CLOSED;
        int failures;
        int opens;
        Instant openUntil = Instant.EPOCH;
        Instant probeSince = Instant.EPOCH;
    }

    static String key(String hop) {
        return hop.toLowerCase(Locale.ROOT);
    }

    /** Where this node's transitions go (shared relay health), or null. */
    public void announceTo(Announcer announcer) {
        this.announcer = announcer;
    }

    /**
     * Another node opened {@code hop} until {@code until}: this node stops trying it too, unless it
     * already holds it open longer.
     */
    public void openedElsewhere(String hop, Instant until, int opens) {
        Breaker b = breaker(hop);
        synchronized (b) {
            if (!until.isAfter(clock.instant()) || (b.state == State.OPEN && !b.openUntil.isBefore(until))) {
                return;
            }
            b.state = State.OPEN;
            b.openUntil = until;
            b.opens = Math.max(b.opens, opens);
        }
    }

    /** Another node had a good session with {@code hop}: it works again here too. */
    public void closedElsewhere(String hop) {
        Breaker b = breakers.get(key(hop));
        if (b == null) {
            return;
        }
        synchronized (b) {
            b.state = State.CLOSED;
            b.failures = 0;
            b.opens = 0;
        }
    }

    /** Told once about each hop as it is first seen (the metrics register its gauge). */
    public void onNewHop(Consumer<String> listener) {
        this.newHop = listener;
    }

    private Breaker breaker(String hop) {
        String k = key(hop);
        Breaker b = breakers.get(k);
        if (b != null) {
            return b;
        }
        Breaker created = new Breaker();
        Breaker raced = breakers.putIfAbsent(k, created);
        if (raced != null) {
            return raced;
        }
        newHop.accept(k);
        return created;
    }

    /** One hop's state (closed when never seen). */
    public State state(String hop) {
        Breaker b = breakers.get(key(hop));
        if (b == null) {
            return State.CLOSED;
        }
        synchronized (b) {
            return b.state;
        }
    }

    /** Whether a session may be tried with {@code hop} now; when open and due, this caller is the probe. */
    boolean allow(String hop) {
        Breaker b = breaker(hop);
        synchronized (b) {
            Instant now = clock.instant();
            switch (b.state) {
                case CLOSED -> {
                    return true;
                }
                case OPEN -> {
                    if (now.isBefore(b.openUntil)) {
                        return false;
                    }
                    b.state = State.HALF_OPEN;
                    b.probeSince = now;
                    return true;
                }
                default -> {
                    if (Duration.between(b.probeSince, now).compareTo(PROBE_LIMIT) > 0) {
                        b.probeSince = now;
                        return true;
                    }
                    return false;
                }
            }
        }
    }

    /** When an open hop may be probed, for the deferral reason. */
    Instant openUntil(String hop) {
        Breaker b = breakers.get(key(hop));
        if (b == null) {
            return clock.instant();
        }
        synchronized (b) {
            return b.openUntil;
        }
    }

    void succeeded(String hop) {
        Breaker b = breaker(hop);
        boolean wasOpen;
        synchronized (b) {
            wasOpen = b.state != State.CLOSED;
            b.state = State.CLOSED;
            b.failures = 0;
            b.opens = 0;
        }
        Announcer a = announcer;
        if (wasOpen && a != null) {
            a.closed(key(hop));
        }
    }

    void failed(String hop, int threshold) {
        Breaker b = breaker(hop);
        Instant opened = null;
        int opens;
        synchronized (b) {
            b.failures++;
            if (b.state == State.HALF_OPEN || b.failures >= Math.max(1, threshold)) {
                b.opens++;
                long factor = 1L << Math.min(b.opens - 1, 10);
                Duration coolDown = FIRST_COOL_DOWN.multipliedBy(factor);
                if (coolDown.compareTo(MAX_COOL_DOWN) > 0) {
                    coolDown = MAX_COOL_DOWN;
                }
                b.state = State.OPEN;
                b.openUntil = clock.instant().plus(coolDown);
                opened = b.openUntil;
            }
            opens = b.opens;
        }
        Announcer a = announcer;
        if (opened != null && a != null) {
            a.opened(key(hop), opened, opens);
        }
    }

    /** Every hop seen so far and its state, sorted by hop. */
    public Map<String, State> states() {
        Map<String, State> out = new TreeMap<>();
        breakers.forEach((hop, b) -> {
            synchronized (b) {
                out.put(hop, b.state);
            }
        });
        return out;
    }
}
