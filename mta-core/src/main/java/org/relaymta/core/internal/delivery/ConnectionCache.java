package org.relaymta.core.internal.delivery;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Idle SMTP sessions kept for reuse, like Postfix's connection cache: after a transaction the
 * session stays open for the next message to the same server with the same TLS and credentials,
 * for at most {@code smtp_connection_cache_time_limit} of idleness.
 */
final class ConnectionCache {
    /** A reusable session and when it became idle. */
    record Idle(SmtpConnection connection, OpenSession session, long idleSinceNanos) {
    }

    private final Map<String, Deque<Idle>> idle = new HashMap<>();
    private final int maxPerKey;

    ConnectionCache(int maxPerKey) {
        this.maxPerKey = maxPerKey;
    }

    /** An open idle session for {@code key}, or null. */
    synchronized Idle take(String key) {
        Deque<Idle> q = idle.get(key);
        while (q != null && !q.isEmpty()) {
            Idle i = q.pollLast();
            if (i.connection().open()) {
                return i;
            }
            i.connection().close();
        }
        return null;
    }

    /** Keeps the session for reuse; returns false (caller closes it) when enough are cached already. */
    synchronized boolean offer(String key, Idle session) {
        Deque<Idle> q = idle.computeIfAbsent(key, k -> new ArrayDeque<>());
        if (q.size() >= maxPerKey) {
            return false;
        }
        q.addLast(session);
        return true;
    }

    /** Says QUIT to sessions idle longer than {@code limit}. */
    void expire(Duration limit) {
        long now = System.nanoTime();
        List<Idle> stale = new ArrayList<>();
        synchronized (this) {
            for (Iterator<Deque<Idle>> it = idle.values().iterator(); it.hasNext(); ) {
                Deque<Idle> q = it.next();
                q.removeIf(i -> {
                    boolean old = now - i.idleSinceNanos() > limit.toNanos() || !i.connection().open();
                    if (old) {
                        stale.add(i);
                    }
                    return old;
                });
                if (q.isEmpty()) {
                    it.remove();
                }
            }
        }
        stale.forEach(i -> i.connection().quitNow());
    }

    void closeAll() {
        expire(Duration.ofNanos(-1));
    }
}
