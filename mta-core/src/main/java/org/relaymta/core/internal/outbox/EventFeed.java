package org.relaymta.core.internal.outbox;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the outbox's events to the listeners, off the delivery path: each consumer has its own
 * thread and position and reads the outbox from there (recent events from memory). A named
 * consumer's position is saved in the spool after every batch, so after a restart it goes on where
 * it was (at least once); the unnamed listeners share one consumer that starts at the end. An
 * {@link EventSink} is a named consumer whose batches go through its {@link SinkRunner} (retries,
 * backoff); a consumer that finds events gone before it read them (the outbox over its limit)
 * says how many.
 */
public final class EventFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventFeed.class);

    /** How long a sink waits for more events when less than a batch is there (a webhook's latency, its request rate). */
    static final long SINK_LINGER_MILLIS = 100;

    private final Outbox outbox;
    private final Consumer live;
    private final List<Consumer> consumers = new CopyOnWriteArrayList<>();
    private volatile boolean started;

    public EventFeed(Outbox outbox) {
        this.outbox = outbox;
        this.live = new Consumer(null, outbox.position());
        consumers.add(live);
        outbox.onDurable(p -> consumers.forEach(Consumer::wake));
    }

    /** An unnamed listener: the events from now on. */
    public void addListener(DeliveryListener listener) {
        live.listeners.add(listener);
    }

    /** A named listener: from its saved position (a new name starts at the current end). */
    public void addNamed(String name, DeliveryListener listener) throws IOException {
        if (started) {
            throw new IllegalStateException("named listeners are given before the relay starts");
        }
        for (Consumer c : consumers) {
            if (name.equals(c.name)) {
                throw new IllegalArgumentException("two listeners are named '" + name + "'");
            }
        }
        Consumer c = new Consumer(name, outbox.consumerPosition(name));
        c.listeners.add(listener);
        consumers.add(c);
    }

    /** A sink: a named consumer of its own, from its saved position. */
    public void addSink(SinkRunner runner) throws IOException {
        String name = runner.sink().name();
        if (started) {
            throw new IllegalStateException("sinks are given before the relay starts");
        }
        for (Consumer c : consumers) {
            if (name.equals(c.name)) {
                throw new IllegalArgumentException("two event consumers are named '" + name + "'");
            }
        }
        Consumer c = new Consumer(name, outbox.consumerPosition(name));
        c.runner = runner;
        runner.positionAt(c.position);
        consumers.add(c);
    }

    /**
     * Whether any consumer takes {@code received} events: a sink, or a listener that asks for them.
     * When none does they are not recorded at all: a consumer added later starts at the end anyway.
     */
    public boolean wantsReceived() {
        for (Consumer c : consumers) {
            if (c.runner != null) {
                return true;
            }
            for (DeliveryListener l : c.listeners) {
                if (l.wants(DeliveryEvent.Status.RECEIVED)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The sinks, in the order given. */
    public List<SinkRunner> sinks() {
        return consumers.stream().filter(c -> c.runner != null).map(c -> c.runner).toList();
    }

    /** How many durable events {@code runner}'s sink has not been handed yet. */
    public long lag(SinkRunner runner) {
        for (Consumer c : consumers) {
            if (c.runner == runner) {
                return Math.max(0, outbox.position() - c.position);
            }
        }
        return 0;
    }

    public void start() {
        started = true;
        consumers.forEach(Consumer::start);
    }

    /** The named consumers' positions: the outbox keeps what they have not read. */
    public List<Long> namedPositions() {
        List<Long> positions = new ArrayList<>();
        for (Consumer c : consumers) {
            if (c.name != null) {
                positions.add(c.position);
            }
        }
        return positions;
    }

    /**
     * Waits until every listener in the process has been handed every event durable now; false when
     * {@code timeout} passed first. Sinks are not waited for: one that is down would hold it forever.
     */
    public boolean await(Duration timeout) throws InterruptedException {
        return await(timeout, false);
    }

    /** As {@link #await(Duration)}, and the sinks too (a drain before a planned stop, tests). */
    public boolean awaitAll(Duration timeout) throws InterruptedException {
        return await(timeout, true);
    }

    private boolean await(Duration timeout, boolean sinksToo) throws InterruptedException {
        long target = outbox.position();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Consumer c : consumers) {
            if ((sinksToo || c.runner == null) && !c.awaitPosition(target, deadline)) {
                return false;
            }
        }
        return true;
    }

    /** Lets each consumer finish what is durable, up to {@code grace}, and stops them. */
    public void close(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        long target = outbox.position();
        for (Consumer c : consumers) {
            try {
                c.awaitPosition(target, deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            c.stop();
            if (c.runner != null) {
                c.runner.sink().close();
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    private final class Consumer implements Runnable {
        final String name;
        final List<DeliveryListener> listeners = new CopyOnWriteArrayList<>();
        SinkRunner runner;
        volatile long position;
        private boolean stopping;
        private boolean woken;
        private Thread thread;

        Consumer(String name, long position) {
            this.name = name;
            this.position = position;
        }

        void start() {
            thread = new Thread(this, name == null ? "mta-events" : "mta-events-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        synchronized void wake() {
            woken = true;
            notifyAll();
        }

        synchronized boolean awaitPosition(long target, long deadline) throws InterruptedException {
            while (position < target && !stopping && thread != null && thread.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return position >= target || thread == null;
        }

        void stop() {
            synchronized (this) {
                stopping = true;
                notifyAll();
            }
            if (thread != null && runner != null) {
                thread.interrupt();   // a sink waiting out a backoff or a slow server: its position stays where it was
            }
            if (thread != null) {
                try {
                    thread.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void run() {
            while (true) {
                synchronized (this) {
                    while (!stopping && !woken && position >= outbox.settledPosition()) {
                        try {
                            wait(1000);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    if (stopping) {
                        return;
                    }
                    woken = false;
                }
                if (listeners.isEmpty() && name == null && runner == null) {
                    advance(outbox.settledPosition());   // nobody listens: nothing to read
                    continue;
                }
                if (runner != null && outbox.settledPosition() - position < runner.sink().maxBatch()) {
                    // Less than a batch waiting: a moment more fills it, one request instead of many small ones.
                    linger();
                }
                List<DeliveryEvent> batch;
                long settled = outbox.settledPosition();
                try {
                    // Only events whose spool change is made: a listener never runs ahead of the queue.
                    batch = outbox.read(position).stream().filter(e -> e.sequence() <= settled).toList();
                } catch (IOException e) {
                    log.error("events: cannot read the outbox for {}: {}", label(), e.getMessage());
                    pause();
                    continue;
                }
                if (!batch.isEmpty() && batch.get(0).sequence() > position + 1 && name != null) {
                    long gone = batch.get(0).sequence() - position - 1;
                    if (runner != null) {
                        runner.lost(gone, position + 1, batch.get(0).sequence() - 1);
                    } else {
                        log.error("events: listener {} lost {} events (sequences {}-{}) before it read them", label(), gone,
                                position + 1, batch.get(0).sequence() - 1);
                    }
                }
                if (runner != null) {
                    try {
                        runner.handle(batch, this::advance);
                    } catch (InterruptedException e) {
                        return;   // stopping: what was not delivered is handed over again after the restart
                    }
                    if (batch.isEmpty()) {
                        pause();
                    }
                    continue;
                }
                for (DeliveryEvent e : batch) {
                    for (DeliveryListener l : listeners) {
                        if (!l.wants(e.status())) {
                            continue;
                        }
                        try {
                            l.onDelivery(e);
                        } catch (RuntimeException ex) {
                            log.warn("events: delivery listener {} failed on event {}: {}", label(), e.sequence(), ex.toString());
                        }
                    }
                }
                if (batch.isEmpty()) {
                    pause();   // behind, yet nothing to read (events lost with their segment): no spinning
                } else {
                    advance(batch.get(batch.size() - 1).sequence());
                }
            }
        }

        private void advance(long to) {
            if (name != null) {
                try {
                    outbox.saveConsumerPosition(name, to);
                } catch (IOException e) {
                    log.warn("events: cannot save the position of {}: {} (it gets these events again after a restart)",
                            label(), e.getMessage());
                }
            }
            synchronized (this) {
                position = to;
                notifyAll();
            }
        }

        private void linger() {
            try {
                Thread.sleep(SINK_LINGER_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void pause() {
            synchronized (this) {
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private String label() {
            return name == null ? "(unnamed)" : "'" + name + "'";
        }
    }
}
