package org.relaymta.core.internal.outbox;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable event outbox, {@code SPOOL/outbox/}: delivery events appended as JSON lines to
 * segment files named by their first sequence number, made durable by one fdatasync shared by
 * every append before it (group commit, on the {@code mta-outbox-sync} thread), before the spool
 * change they describe is made. A checkpoint (the spool's pending writes synced, then the
 * sequence written to {@code checkpoint}) marks how far events and spool agree for certain; at the
 * next start the events after it are {@link #unsettled()}, for the queue to reconcile. Consumers
 * read from a position ({@link #read}); a segment is deleted once it is behind the checkpoint and
 * behind every named consumer's saved position.
 *
 * <p>When a segment cannot be written (a full disk) the events still go to the consumers from
 * memory and the error is logged: they would not survive a crash, but nothing stops delivering.
 *
 * <p>Over 400 lines: appends, the sync thread, the in-memory tail, checkpoints and retention share
 * one lock and one set of sequence counters (the file formats are {@link OutboxFiles}).
 */
public final class Outbox implements EventRecorder, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Outbox.class);
    public static final String DIRECTORY = "outbox";
    static final String SUFFIX = ".log";
    private static final String CHECKPOINT = "checkpoint";
    private static final String CONSUMERS = "consumers";
    private static final long SEGMENT_LIMIT = 16L * 1024 * 1024;
    private final long segmentLimit;
    /** Recent events kept in memory, so consumers that keep up never read a file. */
    private static final int TAIL = 2048;
    /** The sync thread waits this long for more appends before its fdatasync: one flush covers a burst. */
    private static final long GROUP_COMMIT_WINDOW_NANOS = 1_000_000;

    private final Path dir;
    private final Runnable spoolSync;
    /** Segments by first sequence; the last one is written to, once opened by this process. */
    private final TreeMap<Long, Segment> segments = new TreeMap<>();
    private final List<DeliveryEvent> unsettledAtStart;
    private final ArrayDeque<DeliveryEvent> tail = new ArrayDeque<>();
    /** First sequences of recorded batches whose spool change is not settled yet. */
    private final TreeSet<Long> unsettled = new TreeSet<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final List<LongConsumer> durableListeners = new ArrayList<>();
    private Segment current;
    private long lastAssigned;
    private long durable;
    private long checkpointed;
    private boolean failing;
    private long overLimitDropped;
    private boolean closed;
    private Thread syncer;

    private static final class Segment {
        final Path path;
        final long first;
        long last;
        FileChannel channel;
        long size;

        Segment(Path path, long first, long last) {
            this.path = path;
            this.first = first;
            this.last = last;
        }
    }

    private record Waiter(long last, List<DeliveryEvent> events, CompletableFuture<Recorded> done) {
    }

    private Outbox(Path dir, Runnable spoolSync, long segmentLimit, long checkpointed, List<DeliveryEvent> unsettledAtStart,
                   long last) {
        this.dir = dir;
        this.segmentLimit = segmentLimit;
        this.spoolSync = spoolSync;
        this.checkpointed = checkpointed;
        this.unsettledAtStart = List.copyOf(unsettledAtStart);
        this.lastAssigned = last;
        this.durable = last;
    }

    /**
     * Opens the outbox of the spool at {@code spoolRoot}, reading what came after the last
     * checkpoint. {@code spoolSync} makes the spool's written changes durable (run by checkpoints).
     */
    private volatile java.util.function.BooleanSupplier fenced = () -> false;

    /** Whether another node took the spool over (spool takeover): then no event is recorded here any more. */
    public void fence(java.util.function.BooleanSupplier fenced) {
        this.fenced = fenced;
    }

    public static Outbox open(Path spoolRoot, Runnable spoolSync) throws IOException {
        return open(spoolRoot, spoolSync, SEGMENT_LIMIT);
    }

    /** With segments of about {@code segmentLimit} bytes (tests make them small). */
    static Outbox open(Path spoolRoot, Runnable spoolSync, long segmentLimit) throws IOException {
        Path dir = spoolRoot.resolve(DIRECTORY);
        SpoolFiles.directory(dir);
        SpoolFiles.directory(dir.resolve(CONSUMERS));
        long checkpoint = OutboxFiles.readNumber(dir.resolve(CHECKPOINT)).orElse(0L);
        TreeMap<Long, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path p : s) {
                OutboxFiles.firstSequence(p).ifPresent(first -> files.put(first, p));
            }
        }
        List<DeliveryEvent> after = new ArrayList<>();
        long last = checkpoint;
        Outbox outbox;
        List<Segment> found = new ArrayList<>();
        for (Map.Entry<Long, Path> f : files.entrySet()) {
            Long next = files.higherKey(f.getKey());
            long segmentLast = next == null ? f.getKey() - 1 : next - 1;
            if (next == null || next - 1 > checkpoint) {
                // Read: it may hold events after the checkpoint, and the last one says where numbering goes on.
                for (DeliveryEvent e : OutboxFiles.readSegment(f.getValue(), 0)) {
                    segmentLast = Math.max(segmentLast, e.sequence());
                    if (e.sequence() > checkpoint) {
                        after.add(e);
                    }
                }
            }
            last = Math.max(last, segmentLast);
            Segment seg = new Segment(f.getValue(), f.getKey(), segmentLast);
            seg.size = Files.size(f.getValue());
            found.add(seg);
        }
        outbox = new Outbox(dir, spoolSync, segmentLimit, checkpoint, after, last);
        found.forEach(s -> outbox.segments.put(s.first, s));
        return outbox;
    }

    /** Events after the last checkpoint when the outbox was opened: their spool change may not have been made. */
    public List<DeliveryEvent> unsettled() {
        return unsettledAtStart;
    }

    /** The sequence of the last durable event (0 when none ever was). */
    public synchronized long position() {
        return durable;
    }

    /**
     * The sequence up to which every event is durable and its spool change made: what listeners are
     * handed, so a listener never hears of an outcome the queue does not show yet.
     */
    public synchronized long settledPosition() {
        return unsettled.isEmpty() ? durable : Math.min(durable, unsettled.first() - 1);
    }

    /** Told the new durable position after every sync (on the sync thread: return quickly). */
    public synchronized void onDurable(LongConsumer listener) {
        durableListeners.add(listener);
    }

    @Override
    public CompletableFuture<Recorded> record(List<DeliveryEvent> events) {
        if (events.isEmpty()) {
            return CompletableFuture.completedFuture(new Batch(List.of(), -1));
        }
        if (fenced.getAsBoolean()) {
            // Another node took the spool over: nothing more is written into it from here.
            return CompletableFuture.failedFuture(new IOException("the spool was taken over by another node"));
        }
        CompletableFuture<Recorded> done = new CompletableFuture<>();
        List<DeliveryEvent> numbered = new ArrayList<>(events.size());
        synchronized (this) {
            StringBuilder lines = new StringBuilder();
            for (DeliveryEvent e : events) {
                DeliveryEvent n = e.withSequence(++lastAssigned);
                numbered.add(n);
                lines.append(EventCodec.line(n));
            }
            unsettled.add(numbered.get(0).sequence());
            try {
                write(lines.toString().getBytes(StandardCharsets.UTF_8), numbered);
                if (closed) {
                    // An attempt that outlived the engine's shutdown grace: its outcome is still worth keeping.
                    current.channel.force(false);
                    current.channel.close();
                    current.channel = null;
                    current = null;
                    makeVisible(numbered);
                    done.complete(new Batch(numbered, numbered.get(0).sequence()));
                    return done;
                }
                waiters.add(new Waiter(lastAssigned, numbered, done));
                startSyncer();
                notifyAll();
            } catch (IOException e) {
                failed("write", e);
                // Not durable, but the consumers still get them and the spool change still happens.
                makeVisible(numbered);
                done.complete(new Batch(numbered, numbered.get(0).sequence()));
            }
        }
        return done;
    }

    private void write(byte[] bytes, List<DeliveryEvent> numbered) throws IOException {
        if (current == null || current.size >= segmentLimit) {
            rotate(numbered.get(0).sequence());
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            while (b.hasRemaining()) {
                current.channel.write(b);
            }
        } catch (IOException e) {
            current = null;   // a torn line ends this segment; the next append starts another
            throw e;
        }
        current.size += bytes.length;
        current.last = numbered.get(numbered.size() - 1).sequence();
    }

    private void rotate(long first) throws IOException {
        Path path = dir.resolve(String.format("%016x", first) + SUFFIX);
        Segment s = new Segment(path, first, first - 1);
        s.channel = SpoolFiles.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        s.size = s.channel.size();
        OutboxFiles.syncDirectory(dir);
        segments.put(first, s);
        current = s;
    }

    private void startSyncer() {
        if (syncer == null) {
            syncer = new Thread(this::syncLoop, "mta-outbox-sync");
            syncer.setDaemon(true);
            syncer.start();
        }
    }

    /** One fdatasync per round, covering every append made before it started. */
    private void syncLoop() {
        while (true) {
            List<Waiter> batch;
            FileChannel channel;
            synchronized (this) {
                while (waiters.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (waiters.isEmpty()) {
                    return;
                }
                // The rest of a burst joins this round (appends notify: the window is waited out in full).
                long until = System.nanoTime() + GROUP_COMMIT_WINDOW_NANOS;
                long left;
                while (!closed && (left = until - System.nanoTime()) > 0) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(this, left);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                batch = new ArrayList<>(waiters);
                waiters.clear();
                channel = current == null ? null : current.channel;
            }
            IOException failure = null;
            try {
                forceAll(batch, channel);
            } catch (IOException e) {
                failure = e;
            }
            List<LongConsumer> told;
            long position;
            synchronized (this) {
                if (failure != null) {
                    failed("fsync", failure);
                    current = null;
                } else if (failing) {
                    failing = false;
                    log.info("outbox: events are written durably again");
                }
                for (Waiter w : batch) {
                    makeVisible(w.events());
                }
                position = durable;
                told = List.copyOf(durableListeners);
            }
            for (Waiter w : batch) {
                w.done().complete(new Batch(w.events(), w.events().get(0).sequence()));
            }
            told.forEach(l -> l.accept(position));
        }
    }

    /** The batch's records may sit in a segment rotated away since: every segment written to since the last round is forced. */
    private void forceAll(List<Waiter> batch, FileChannel current) throws IOException {
        long from = batch.get(0).events().get(0).sequence();
        List<FileChannel> channels = new ArrayList<>();
        synchronized (this) {
            Long key = segments.floorKey(from);
            for (Segment s : (key == null ? segments : segments.tailMap(key, true)).values()) {
                if (s.channel != null) {
                    channels.add(s.channel);
                }
            }
        }
        if (current != null && !channels.contains(current)) {
            channels.add(current);
        }
        for (FileChannel c : channels) {
            try {
                c.force(false);
            } catch (ClosedChannelException ignored) {
                // a segment deleted meanwhile: behind the checkpoint, nothing in it is waited for
            }
        }
    }

    private void failed(String what, IOException e) {
        if (!failing) {
            log.error("outbox: cannot {} delivery events in {}: {}; they reach the listeners but would not survive a crash",
                    what, dir, e.getMessage());
        }
        failing = true;
    }

    /** Holds the lock. */
    private void makeVisible(List<DeliveryEvent> events) {
        for (DeliveryEvent e : events) {
            tail.addLast(e);
            if (tail.size() > TAIL) {
                tail.removeFirst();
            }
        }
        durable = Math.max(durable, events.get(events.size() - 1).sequence());
    }

    /** The bytes of events on disk. */
    public synchronized long sizeOnDisk() {
        long total = 0;
        for (Segment s : segments.values()) {
            total += s.size;
        }
        return total;
    }

    /** Events dropped unread because the outbox passed its limit, since the start. */
    public synchronized long droppedOverLimit() {
        return overLimitDropped;
    }

    /** False while segments cannot be written. */
    public synchronized boolean healthy() {
        return !failing;
    }

    /**
     * Events after {@code position}, in order: from memory when recent, else from the segment that
     * holds the next one (at most one segment per call). Empty when there is nothing newer.
     */
    public List<DeliveryEvent> read(long position) throws IOException {
        long limit;
        List<Path> files = new ArrayList<>();
        synchronized (this) {
            limit = durable;
            if (position >= limit) {
                return List.of();
            }
            if (!tail.isEmpty() && tail.peekFirst().sequence() <= position + 1) {
                return newerInTail(position, limit);
            }
            Long from = segments.floorKey(position + 1);
            for (Segment seg : (from == null ? segments : segments.tailMap(from, true)).values()) {
                files.add(seg.path);
            }
        }
        for (Path file : files) {
            // A segment may have lost its last lines to a full disk: then the next one goes on.
            List<DeliveryEvent> out = new ArrayList<>();
            for (DeliveryEvent e : OutboxFiles.readSegment(file, position)) {
                if (e.sequence() <= limit) {
                    out.add(e);
                }
            }
            if (!out.isEmpty()) {
                return out;
            }
        }
        // Nothing on file after the position (a segment lost to a full disk): what memory still has.
        synchronized (this) {
            return newerInTail(position, limit);
        }
    }

    /** The tail's events after {@code position}, walked from the newest end: a consumer that keeps up costs what is new. */
    private List<DeliveryEvent> newerInTail(long position, long limit) {
        List<DeliveryEvent> out = new ArrayList<>();
        Iterator<DeliveryEvent> newestFirst = tail.descendingIterator();
        while (newestFirst.hasNext()) {
            DeliveryEvent e = newestFirst.next();
            if (e.sequence() <= position) {
                break;
            }
            if (e.sequence() <= limit) {
                out.add(e);
            }
        }
        Collections.reverse(out);
        return out;
    }

    @Override
    public Set<String> recorded(DeliveryEvent.Status status, Set<String> queueIds, Instant notBefore) {
        Set<String> found = new HashSet<>();
        List<Path> newestFirst = new ArrayList<>();
        synchronized (this) {
            segments.descendingMap().values().forEach(s -> newestFirst.add(s.path));
        }
        for (Path file : newestFirst) {
            boolean older = true;
            try {
                for (DeliveryEvent e : OutboxFiles.readSegment(file, 0)) {
                    older &= e.time().isBefore(notBefore);
                    if (e.status() == status && queueIds.contains(e.queueId())) {
                        found.add(e.queueId());
                    }
                }
            } catch (IOException e) {
                log.warn("outbox: cannot read {}: {}", file, e.getMessage());
            }
            if (found.size() == queueIds.size() || older) {
                break;   // every one found, or this segment is older than the oldest message asked about
            }
        }
        return found;
    }

    /** The saved position of a named consumer; a new consumer starts at the current end. */
    public long consumerPosition(String name) throws IOException {
        Path file = dir.resolve(CONSUMERS).resolve(OutboxFiles.checkName(name));
        Optional<Long> saved = OutboxFiles.readNumber(file);
        if (saved.isPresent()) {
            return saved.get();
        }
        long now = position();
        OutboxFiles.writeNumber(file, now, false);
        return now;
    }

    /** Saves a named consumer's position (a crash before it reaches the disk only hands some events over again). */
    public void saveConsumerPosition(String name, long position) throws IOException {
        OutboxFiles.writeNumber(dir.resolve(CONSUMERS).resolve(OutboxFiles.checkName(name)), position, false);
    }

    /**
     * Makes the spool's changes durable for every settled event, writes that as the checkpoint, and
     * deletes the segments no one needs: behind the checkpoint and behind {@code positions} (the
     * named consumers'). Run every few seconds and at close; cheap when nothing happened.
     */
    public void checkpoint(Collection<Long> positions) {
        checkpoint(positions, Long.MAX_VALUE);
    }

    /**
     * As {@link #checkpoint(Collection)}, and past {@code limit} bytes on disk the oldest checkpointed
     * segments go even when a consumer has not read them: a sink that stays away can cost its own
     * events (it is told how many when it reads on), never the disk the mail needs.
     */
    public void checkpoint(Collection<Long> positions, long limit) {
        long upTo;
        synchronized (this) {
            upTo = unsettled.isEmpty() ? durable : Math.min(durable, unsettled.first() - 1);
        }
        if (upTo > checkpointed) {
            try {
                spoolSync.run();
                OutboxFiles.writeNumber(dir.resolve(CHECKPOINT), upTo, true);
                OutboxFiles.syncDirectory(dir);
                synchronized (this) {
                    checkpointed = upTo;
                }
            } catch (IOException | RuntimeException e) {
                log.warn("outbox: checkpoint failed (events since the last one are reconciled at the next start): {}",
                        e.toString());
                return;
            }
        }
        long keepFrom = positions.stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
        List<Segment> gone = new ArrayList<>();
        synchronized (this) {
            long behind = Math.min(checkpointed, keepFrom);
            long total = 0;
            for (Segment s : segments.values()) {
                total += s.size;
            }
            for (Segment s : segments.values()) {
                if (s == current || s.last > checkpointed) {
                    break;
                }
                if (s.last <= behind) {
                    gone.add(s);
                    total -= s.size;
                } else if (total > limit) {
                    log.error("outbox: {} bytes of events are over event_queue_limit ({}): dropping sequences {}-{}, which "
                            + "a sink has not taken", total, limit, s.first, s.last);
                    overLimitDropped += s.last - s.first + 1;
                    gone.add(s);
                    total -= s.size;
                }
            }
            gone.forEach(s -> segments.remove(s.first));
        }
        for (Segment s : gone) {
            try {
                if (s.channel != null) {
                    s.channel.close();
                }
                Files.deleteIfExists(s.path);
            } catch (IOException e) {
                log.warn("outbox: cannot delete {}: {}", s.path, e.getMessage());
            }
        }
    }

    /** Checkpoints (without named consumers to honour beyond {@code positions}) and stops the sync thread. */
    public void close(Collection<Long> positions) {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        if (syncer != null) {
            try {
                syncer.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        checkpoint(positions);
        synchronized (this) {
            for (Segment s : segments.values()) {
                try {
                    if (s.channel != null) {
                        s.channel.close();
                        s.channel = null;
                    }
                } catch (IOException ignored) {
                    // closing cannot lose a durable event
                }
            }
            current = null;   // a late record after close gets a segment of its own
        }
    }

    @Override
    public void close() {
        close(List.of());
    }

    /** A recorded batch: {@link #settled()} lets checkpoints pass it. */
    private final class Batch implements Recorded {
        private final List<DeliveryEvent> events;
        private final long first;

        Batch(List<DeliveryEvent> events, long first) {
            this.events = events;
            this.first = first;
        }

        @Override
        public List<DeliveryEvent> events() {
            return events;
        }

        @Override
        public void settled() {
            if (first >= 0) {
                List<LongConsumer> told;
                long position;
                synchronized (Outbox.this) {
                    unsettled.remove(first);
                    told = List.copyOf(durableListeners);
                    position = durable;
                }
                // The consumers may go on now: what they read stops at the settled position.
                told.forEach(l -> l.accept(position));
            }
        }
    }
}
