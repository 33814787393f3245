package org.relaymta.core.internal.queue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.relaymta.core.queue.QueueState;

/** The in-memory queue: one compact {@link QueueEntry} per queued message, by id. */
final class QueueIndex {
    private final Map<String, QueueEntry> entries = new ConcurrentHashMap<>();
    /** Waiting messages found at start whose entries are still being read from the spool. */
    private final AtomicInteger loading = new AtomicInteger();

    /** {@code n} more entries are being read from the spool, each indexed by {@link #putLoaded}. */
    void expect(int n) {
        loading.addAndGet(n);
    }

    /** Indexes an entry read at start, under the lock {@link #sizeWithLoading} takes: never counted twice. */
    synchronized void putLoaded(QueueEntry entry) {
        entries.put(entry.id, entry);
        if (loading.decrementAndGet() == 0) {
            notifyAll();
        }
    }

    /** Messages queued: indexed, plus found at start and not indexed yet. */
    synchronized int sizeWithLoading() {
        return entries.size() + loading.get();
    }

    /** Loading is over: entries not indexed by now never will be (partial files, or the queue closed). */
    void doneLoading() {
        loading.set(0);
        synchronized (this) {
            notifyAll();
        }
    }

    /** Waits until every entry found at start is indexed (operator actions need the whole queue). */
    synchronized void awaitLoaded() {
        boolean interrupted = false;
        while (loading.get() > 0) {
            try {
                wait(100);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    QueueEntry get(String id) {
        return entries.get(id);
    }

    void put(QueueEntry entry) {
        entries.put(entry.id, entry);
    }

    void remove(QueueEntry entry) {
        if (entries.remove(entry.id, entry) && entries.isEmpty()) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Waits until the index is empty; false when {@code timeout} passed first. */
    synchronized boolean awaitEmpty(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!entries.isEmpty() || loading.get() > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            // Bounded wait: a remove racing with this check is seen at the next turn.
            wait(Math.max(1, Math.min(left / 1_000_000, 100)));
        }
        return true;
    }

    int size() {
        return entries.size();
    }

    /** The ids, oldest first (ids sort by arrival). */
    List<String> ids() {
        List<String> ids = new ArrayList<>(entries.keySet());
        ids.sort(null);
        return ids;
    }

    Iterable<QueueEntry> entries() {
        return entries.values();
    }

    /** Messages per queue (a message in delivery counts as active). */
    Map<QueueState, Integer> countByState() {
        Map<QueueState, Integer> counts = new EnumMap<>(QueueState.class);
        for (QueueState s : QueueState.values()) {
            counts.put(s, 0);
        }
        for (QueueEntry e : entries.values()) {
            QueueState s = e.inFlight ? QueueState.ACTIVE : e.state;
            if (s != null) {
                counts.merge(s, 1, Integer::sum);
            }
        }
        return counts;
    }

    /** Arrival of the oldest queued message in epoch milliseconds, or -1 when the queue is empty. */
    long oldestArrivalMillis() {
        long oldest = Long.MAX_VALUE;
        for (QueueEntry e : entries.values()) {
            oldest = Math.min(oldest, e.arrivalMillis);
        }
        return oldest == Long.MAX_VALUE ? -1 : oldest;
    }
}
