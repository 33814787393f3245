package org.relaymta.core.internal.queue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.outbox.EventRecorder;
import org.relaymta.core.internal.outbox.Outbox;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolRecovery;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.internal.spool.StoredMessage;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.queue.QueueState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operator actions over the queue index and the spool (Postfix's postqueue and postsuper), one
 * implementation for the running engine and for {@code mta queue} on a spool no relay runs on.
 * Each action on a message holds that message's {@link QueueEntry} monitor, the same one the end
 * of a delivery attempt holds, so the two never interleave.
 *
 * <p>Over 400 lines: each of Postfix's operator actions (list, show, hold, release, delete, requeue,
 * flush) with its case for a message in delivery; they share the locking and spool loading here.
 */
public final class QueueOperations implements QueueActions {
    private static final Logger log = LoggerFactory.getLogger(QueueOperations.class);
    static final String ALL = "ALL";

    /** What the queue manager does when an action changes when a message is due. */
    interface Scheduling {
        void due(QueueEntry entry, Instant when);

        void cancel(QueueEntry entry);

        void resumeDestinations();

        void runDue();
    }

    private final QueueIndex index;
    private final Spool spool;
    private final Clock clock;
    private final Scheduling scheduling;
    private final DeliveryEvents events;
    /** No relay runs: due times changed by a flush must be saved in the spool for its next start. */
    private final boolean offline;

    QueueOperations(QueueIndex index, Spool spool, Clock clock, DeliveryEvents events, Scheduling scheduling) {
        this(index, spool, clock, events, scheduling, false);
    }

    private QueueOperations(QueueIndex index, Spool spool, Clock clock, DeliveryEvents events, Scheduling scheduling,
                            boolean offline) {
        this.index = index;
        this.events = events;
        this.spool = spool;
        this.clock = clock;
        this.scheduling = scheduling;
        this.offline = offline;
    }

    /**
     * Operations on a spool directory that no relay runs on (the caller makes sure of that): changes
     * are written to the spool and take effect at the relay's next start; their events go to the
     * spool's outbox like the relay's own.
     */
    public static QueueOperations offline(Spool spool, Clock clock) throws IOException {
        String node = localHostName();
        DeliveryEvents events = new DeliveryEvents(clock, Outbox.open(spool.root(), spool::sync), spool::facts, () -> node);
        QueueIndex index = new QueueIndex();
        SpoolRecovery recovery = spool.recovery();
        for (StoredMessage s : recovery.journaled()) {
            index.put(new QueueEntry(s.id(), s.arrival().toEpochMilli(), s.state(), s.journaled()));
        }
        // Their queue is read when an action or a listing needs it: a listing reads each message once.
        for (String id : recovery.waitingIds()) {
            index.put(new QueueEntry(id, 0, null, null));
        }
        return new QueueOperations(index, spool, clock, events, new Scheduling() {
            @Override
            public void due(QueueEntry entry, Instant when) {
                // Nothing runs: the next start reads the due time saved with the state.
            }

            @Override
            public void cancel(QueueEntry entry) {
            }

            @Override
            public void resumeDestinations() {
            }

            @Override
            public void runDue() {
            }
        }, true);
    }

    @Override
    public List<SpooledMessage> messages() {
        List<SpooledMessage> all = new ArrayList<>();
        forEach(all::add);
        return all;
    }

    /** Messages are read from the spool by two threads ahead of the visitor, a batch at a time, in id order. */
    @Override
    public void forEach(Consumer<SpooledMessage> visitor) {
        index.awaitLoaded();
        List<String> ids = index.ids();
        if (ids.size() <= LIST_BATCH) {
            ids.forEach(id -> loadOne(id).ifPresent(visitor));
            return;
        }
        ExecutorService readers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "mta-queue-list");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<List<SpooledMessage>>> next = readAhead(ids, 0, readers);
            for (int from = 0; from < ids.size(); from += LIST_BATCH) {
                List<Future<List<SpooledMessage>>> batch = next;
                next = readAhead(ids, from + LIST_BATCH, readers);
                for (Future<List<SpooledMessage>> half : batch) {
                    half.get().forEach(visitor);
                }
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            readers.shutdownNow();
        }
    }

    private static final int LIST_BATCH = 512;

    /** The batch of a listing that starts at {@code from}, read in two halves, one per reader thread. */
    private List<Future<List<SpooledMessage>>> readAhead(List<String> ids, int from,
                                                                          ExecutorService readers) {
        if (from >= ids.size()) {
            return List.of();
        }
        int to = Math.min(ids.size(), from + LIST_BATCH);
        int mid = (from + to) / 2;
        return List.of(readers.submit(() -> read(ids.subList(from, mid))), readers.submit(() -> read(ids.subList(mid, to))));
    }

    private List<SpooledMessage> read(List<String> ids) {
        List<SpooledMessage> out = new ArrayList<>(ids.size());
        for (String id : ids) {
            loadOne(id).ifPresent(out::add);
        }
        return out;
    }

    /** One message of a listing: its summary (one small read for a waiting message). */
    private Optional<SpooledMessage> loadOne(String id) {
        return read(id, false);
    }

    /** A message as stored now ({@code whole}: with where its content starts), shown active while in delivery. */
    private Optional<SpooledMessage> read(String id, boolean whole) {
        QueueEntry e = index.get(id);
        if (e == null) {
            return Optional.empty();
        }
        try {
            synchronized (e) {
                if (e.removed) {
                    return Optional.empty();
                }
                Optional<SpooledMessage> m = whole || e.resident != null ? load(e) : spool.summary(e.id);
                m.ifPresent(x -> e.state = x.state());
                return e.inFlight ? m.map(x -> x.withQueueState(QueueState.ACTIVE)) : m;
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read queued message " + id + ": " + ex.getMessage(), ex);
        }
    }

    @Override
    public Optional<SpooledMessage> message(String id) {
        index.awaitLoaded();
        return read(id, true);
    }

    /** The whole message as stored now; call holding the entry's monitor. */
    Optional<SpooledMessage> load(QueueEntry e) throws IOException {
        if (e.resident != null) {
            return Optional.of(e.resident.withQueueState(e.state));
        }
        Optional<SpooledMessage> m = spool.load(e.id);
        m.ifPresent(x -> e.state = x.state());
        return m;
    }

    /** The message's queue; read from the spool when not known yet (offline). Call holding the entry's monitor. */
    private QueueState stateOf(QueueEntry e) {
        if (e.state == null) {
            try {
                load(e);
            } catch (IOException ex) {
                log.error("queue: cannot read {}: {}", e.id, ex.getMessage());
            }
        }
        return e.state;
    }

    @Override
    public InputStream content(SpooledMessage message) throws IOException {
        SpooledMessage located = message;
        if (message.contentOffset() < 0) {
            // From a listing (a summary): where the content starts is read now.
            String id = message.id();
            located = spool.load(id).orElseThrow(() -> new FileNotFoundException("message " + id + " is no longer queued"));
        }
        return spool.openContent(located);
    }

    @Override
    public int size() {
        return index.sizeWithLoading();
    }

    @Override
    public int flush() {
        index.awaitLoaded();
        scheduling.resumeDestinations();
        Instant now = clock.instant();
        int n = 0;
        for (QueueEntry e : index.entries()) {
            synchronized (e) {
                if (e.removed || stateOf(e) == QueueState.HOLD) {
                    continue;
                }
                if (offline) {
                    persistDue(e, now);
                }
                scheduling.due(e, now);
                n++;
            }
        }
        scheduling.runDue();
        return n;
    }

    /** Offline, a flushed deferred message must carry its new due time in the spool. */
    private void persistDue(QueueEntry e, Instant now) {
        try {
            if (stateOf(e) == QueueState.DEFERRED) {
                Optional<SpooledMessage> m = load(e);
                if (m.isPresent()) {
                    spool.saveState(m.get().withNextAttempt(now));
                }
            }
        } catch (IOException ex) {
            log.error("queue: cannot save the due time of {}: {}", e.id, ex.getMessage());
        }
    }

    @Override
    public ActionResult apply(QueueAction action, String idOrAll) throws IOException {
        return switch (action) {
            case HOLD -> act(action, idOrAll, this::hold);
            case RELEASE -> act(action, idOrAll, this::release);
            case DELETE -> act(action, idOrAll, this::delete);
            case REQUEUE -> {
                scheduling.resumeDestinations();
                yield act(action, idOrAll, this::requeue);
            }
        };
    }

    private Boolean hold(QueueEntry e) throws IOException {
        if (e.inFlight) {
            e.pending = QueueEntry.Pending.HOLD;
            return false;
        }
        Optional<SpooledMessage> m = load(e);
        if (m.isEmpty()) {
            return null;
        }
        if (stateOf(e) == QueueState.HOLD) {
            return true;   // held already: no second event
        }
        EventRecorder.Recorded recorded = events.recordNow(events.ofPending(m.get(), DeliveryEvent.Status.HELD,
                "placed on hold", "held by operator"));
        store(e, QueueState.HOLD, null);
        events.settled(recorded);
        scheduling.cancel(e);
        return true;
    }

    private Boolean release(QueueEntry e) throws IOException {
        if (e.inFlight) {
            if (e.pending != QueueEntry.Pending.HOLD) {
                return null;
            }
            e.pending = QueueEntry.Pending.NONE;
            return false;
        }
        if (stateOf(e) != QueueState.HOLD) {
            return null;
        }
        Optional<SpooledMessage> m = load(e);
        if (m.isEmpty()) {
            return null;
        }
        EventRecorder.Recorded recorded = events.recordNow(events.ofPending(m.get(), DeliveryEvent.Status.RELEASED,
                "released from hold", "released by operator"));
        Instant now = clock.instant();
        store(e, QueueState.DEFERRED, now);
        events.settled(recorded);
        scheduling.due(e, now);
        return true;
    }

    private Boolean delete(QueueEntry e) throws IOException {
        if (e.inFlight) {
            e.pending = QueueEntry.Pending.DELETE;
            return false;
        }
        Optional<SpooledMessage> m = load(e);
        if (m.isPresent()) {
            EventRecorder.Recorded recorded = events.recordNow(events.ofPending(m.get(), DeliveryEvent.Status.DELETED,
                    "removed", "deleted by operator"));
            spool.remove(m.get());
            events.settled(recorded);
        }
        e.removed = true;
        index.remove(e);
        scheduling.cancel(e);
        return true;
    }

    private Boolean requeue(QueueEntry e) throws IOException {
        if (e.inFlight) {
            e.pending = QueueEntry.Pending.REQUEUE;
            return false;
        }
        Instant now = clock.instant();
        store(e, QueueState.ACTIVE, now);
        scheduling.due(e, now);
        return true;
    }

    /** Saves a new queue state (and due time, unless null) for an idle message; it leaves the journal if it was there. */
    private void store(QueueEntry e, QueueState state, Instant due) throws IOException {
        Optional<SpooledMessage> current = load(e);
        if (current.isEmpty()) {
            return;
        }
        SpooledMessage m = current.get().withQueueState(state);
        if (due != null) {
            m = m.withNextAttempt(due);
        }
        spool.saveState(m);
        e.state = state;
        e.resident = null;
    }

    /** One message's action, under its monitor: true done now, false in delivery (applied at its end), null not applicable. */
    private interface Action {
        Boolean apply(QueueEntry e) throws IOException;
    }

    private ActionResult act(QueueAction name, String idOrAll, Action action) throws IOException {
        index.awaitLoaded();
        ActionResultBuilder result = new ActionResultBuilder(name);
        boolean all = ALL.equals(idOrAll);
        List<String> ids = all ? index.ids() : List.of(idOrAll);
        for (String id : ids) {
            QueueEntry e = index.get(id);
            if (e == null) {
                if (!all) {
                    result.notFound(id);
                }
                continue;
            }
            Boolean done;
            synchronized (e) {
                if (e.removed) {
                    if (!all) {
                        result.notFound(id);
                    }
                    continue;
                }
                done = action.apply(e);
            }
            if (done == null) {
                continue;
            }
            if (done) {
                result.done(id);
                log.info("{}: {} by operator", id, name.done());
            } else {
                result.inDelivery(id);
                log.info("{}: {} by operator when its delivery attempt ends", id, name.done());
            }
        }
        scheduling.runDue();
        return result.build();
    }


    @Override
    public void runDue() {
        scheduling.runDue();
    }

    @Override
    public boolean awaitEmpty(Duration timeout) throws InterruptedException {
        return index.awaitEmpty(timeout);
    }

    /** The machine's name, for the events of a queue command run while no relay runs. */
    private static String localHostName() {
        try {
            return java.net.InetAddress.getLocalHost().getCanonicalHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }
}
