package org.relaymta.core.internal.spool;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A restart's view of the spool, in two steps. What {@link Spool#recovery()} returns is what must
 * be known before the relay takes mail: the journal's live records (whole) and the ids of the
 * waiting messages in queue files. Their due times and queues, one small state-file read each,
 * come from {@link #readWaiting}, which a relay runs while it already listens: 100,000 deferred
 * messages do not delay the start.
 */
public final class SpoolRecovery {
    private final SpoolScanner scanner;
    private final List<StoredMessage> journaled;
    private final List<String> waiting;
    private final Set<String> withState;

    SpoolRecovery(SpoolScanner scanner, List<StoredMessage> journaled, List<String> waiting, Set<String> withState) {
        this.scanner = scanner;
        this.journaled = List.copyOf(journaled);
        this.waiting = List.copyOf(waiting);
        this.withState = withState;
    }

    /** Messages still in the journal (received, never tried), with everything about them. */
    public List<StoredMessage> journaled() {
        return journaled;
    }

    /** Ids of the messages in queue files, oldest first. */
    public List<String> waitingIds() {
        return waiting;
    }

    /**
     * Reads each waiting message's due time and queue and hands it to {@code sink} (from {@code
     * threads} reader threads, in no particular order); unacknowledged partial files are skipped
     * (and removed at start). Returns early when {@code stop} says so.
     */
    public void readWaiting(Consumer<StoredMessage> sink, int threads, BooleanSupplier stop) {
        int n = Math.max(1, Math.min(threads, waiting.size() / 1000 + 1));
        AtomicInteger next = new AtomicInteger();
        Runnable reader = () -> {
            int i;
            while (!stop.getAsBoolean() && (i = next.getAndIncrement()) < waiting.size()) {
                String id = waiting.get(i);
                StoredMessage s = scanner.readWaiting(id, withState.contains(id));
                if (s != null) {
                    sink.accept(s);
                }
            }
        };
        List<Thread> helpers = new ArrayList<>();
        for (int t = 1; t < n; t++) {
            Thread th = new Thread(reader, "mta-spool-reader-" + t);
            th.setDaemon(true);
            th.start();
            helpers.add(th);
        }
        reader.run();
        for (Thread th : helpers) {
            try {
                th.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
