package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed AUTH attempts per client address, shared by all its sessions: after {@link #LIMIT}
 * failures within {@link #WINDOW} the address gets {@code 421 4.7.0} at AUTH until the oldest of
 * them is that old. A check in progress counts against the budget until it succeeds, so parallel
 * sessions add no guesses. Entries expire with their window, and the table is capped, so a spray
 * of addresses cannot grow it without bound.
 */
final class AuthFailureBudget {
    static final int LIMIT = 10;
    static final Duration WINDOW = Duration.ofMinutes(10);
    private static final int MAX_CLIENTS = 10_000;

    private final Clock clock;
    private final Map<InetAddress, Deque<Instant>> failures = new LinkedHashMap<>();
    private final Map<InetAddress, Integer> inProgress = new HashMap<>();

    AuthFailureBudget(Clock clock) {
        this.clock = clock;
    }

    /**
     * Starts an attempt if the address has failures left, counting it as one until {@link #failed}
     * or {@link #succeeded}; false: refuse its AUTH for now.
     */
    synchronized boolean begin(InetAddress client) {
        int pending = inProgress.getOrDefault(client, 0);
        if (failuresOf(client) + pending >= LIMIT) {
            return false;
        }
        inProgress.put(client, pending + 1);
        return true;
    }

    synchronized boolean mayTry(InetAddress client) {
        return failuresOf(client) + inProgress.getOrDefault(client, 0) < LIMIT;
    }

    private void finished(InetAddress client) {
        inProgress.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Failures within the window, after this one. */
    synchronized int failed(InetAddress client) {
        finished(client);
        Instant now = clock.instant();
        if (failures.size() >= MAX_CLIENTS && !failures.containsKey(client)) {
            evictExpired(now);
            if (failures.size() >= MAX_CLIENTS) {
                // Oldest first: the table keeps the addresses that failed most recently.
                Iterator<InetAddress> oldest = failures.keySet().iterator();
                oldest.next();
                oldest.remove();
            }
        }
        Deque<Instant> recent = failures.computeIfAbsent(client, k -> new ArrayDeque<>());
        expire(recent, now);
        recent.addLast(now);
        return recent.size();
    }

    /** Failures of the address within the window. */
    synchronized int failuresOf(InetAddress client) {
        Deque<Instant> recent = failures.get(client);
        if (recent == null) {
            return 0;
        }
        expire(recent, clock.instant());
        if (recent.isEmpty()) {
            failures.remove(client);
        }
        return recent.size();
    }

    /** A success from the address forgets its failures. */
    synchronized void succeeded(InetAddress client) {
        finished(client);
        failures.remove(client);
    }

    synchronized int clients() {
        evictExpired(clock.instant());
        return failures.size();
    }

    private void evictExpired(Instant now) {
        failures.values().removeIf(d -> {
            expire(d, now);
            return d.isEmpty();
        });
    }

    private static void expire(Deque<Instant> recent, Instant now) {
        Instant cutoff = now.minus(WINDOW);
        while (!recent.isEmpty() && !recent.peekFirst().isAfter(cutoff)) {
            recent.pollFirst();
        }
    }
}
