package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Append-only segment files for newly received messages: {@code journal/NNNNNNNNNNNNNNNN.seg}.
 * Each record is a length line followed by the same bytes a queue file holds (header, content,
 * trailer). Concurrent receivers append under a lock and then share one fdatasync (group commit),
 * so a burst of messages costs one disk flush instead of a file create, an fsync and later an
 * unlink each. A finished record is marked by overwriting its trailer (no fsync: a crash before
 * the page cache reaches the disk only repeats a delivery). A segment is deleted once it is no
 * longer written to and every record in it is finished or moved to a queue file; the segment being
 * written is retired as soon as nothing in it is live, so a quiet relay holds no finished bytes.
 *
 * <p>A failed write or fdatasync (a full disk) fails the commits it concerns, which are never
 * acknowledged, and abandons the segment: the next append starts a new one, so the journal takes
 * mail again as soon as there is space, without a restart. Records acknowledged earlier were
 * covered by an earlier fdatasync and stay valid in the abandoned segment.
 *
 * <p>Over 400 lines on purpose: appends, the group-commit sync thread, failure handling and
 * retiring segments share one lock and one set of counters (appended, synced, lost ranges); split
 * apart, each piece would need the others' invariants.
 */
final class Journal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Journal.class);
    static final String DIRECTORY = "journal";
    private static final String SUFFIX = ".seg";
    private static final String RECORD = "RELAYMTA-REC ";
    /** "RELAYMTA-REC " + 12 digits + "\n". */
    static final int PREFIX_LENGTH = RECORD.length() + 12 + 1;
    /** Same length as the live trailers, so it can replace one in place. */
    static final byte[] TRAILER_DONE = "RELAYMTA-DONE\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final long SEGMENT_LIMIT = 32L * 1024 * 1024;
    private static final long GROUP_COMMIT_WINDOW_MILLIS = 1;
    /** An empty segment being written is retired at once from this size on, else after a quiet second. */
    private static final long RETIRE_SIZE = 1024 * 1024;

    /** One segment file; its channel stays open for appends (current segment) and done marks. */
    static final class Segment {
        final Path path;
        final FileChannel channel;
        long size;
        int live;
        boolean sealed;

        Segment(Path path, FileChannel channel, long size) {
            this.path = path;
            this.channel = channel;
            this.size = size;
        }
    }

    /** Where a record's body (the queue-file bytes) landed. */
    record Appended(Path segment, long bodyOffset, long sequence) {
    }

    private final Path dir;
    private final DirectorySync dirSync;
    private final Map<Path, Segment> segments = new ConcurrentHashMap<>();
    private long nextSegmentNumber;
    private Segment current;

    // Group commit state, guarded by "this".
    private long appended;
    private long synced;
    /** Append sequences whose fdatasync failed: (from, to], most recent last; never reported durable. */
    private final ArrayDeque<long[]> lost = new ArrayDeque<>();
    /** The last write or fdatasync failure, until an fdatasync succeeds again. */
    private IOException failure;
    /** An fdatasync of {@link #current} runs outside the lock: the segment must not be retired meanwhile. */
    private boolean forcing;
    /** Commits waiting for the next fdatasync, in append order. */
    private final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    private Thread syncer;
    /** Marks the threads that make commits durable: they must never wait for a commit themselves. */
    private static final ThreadLocal<Boolean> SYNC_THREAD = ThreadLocal.withInitial(() -> Boolean.FALSE);

    /**
     * Whether the caller runs on a journal's sync thread (a commit's continuation, such as queueing
     * the message, runs there): work that may wait for another commit must move off it.
     */
    public static boolean onSyncThread() {
        return SYNC_THREAD.get();
    }
    private boolean closed;

    Journal(Path dir) {
        this.dir = dir;
        this.dirSync = new DirectorySync(dir);
    }

    Path directory() {
        return dir;
    }

    /** Segment files present, oldest first. */
    List<Path> segmentFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            s.forEach(files::add);
        }
        files.sort(null);
        return files;
    }

    /** Registers a segment found at start (never appended to again); {@code live} records still need delivery. */
    synchronized void adopt(Path file, int live, boolean deleteWhenEmpty) throws IOException {
        String name = file.getFileName().toString();
        try {
            long n = Long.parseLong(name.substring(0, name.length() - SUFFIX.length()), 16);
            nextSegmentNumber = Math.max(nextSegmentNumber, n + 1);
        } catch (NumberFormatException ignored) {
            // a foreign name: never reused anyway
        }
        if (live == 0 && deleteWhenEmpty) {
            Files.deleteIfExists(file);
            return;
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Segment s = new Segment(file, ch, ch.size());
        s.live = live;
        s.sealed = true;
        segments.put(file, s);
    }

    /** Appends one record (the queue-file bytes {@code body[0, length)}); durable once {@link #durable} completes. */
    Appended append(byte[] body, int length) throws IOException {
        byte[] prefix = prefix(length);
        synchronized (this) {
            if (current == null || current.size >= SEGMENT_LIMIT) {
                rotate();
            }
            Segment s = current;
            long start = s.size;
            ByteBuffer[] parts = {ByteBuffer.wrap(prefix), ByteBuffer.wrap(body, 0, length)};
            long total = prefix.length + (long) length;
            long written = 0;
            s.channel.position(start);
            try {
                while (written < total) {
                    written += s.channel.write(parts);
                }
            } catch (IOException e) {
                // A torn record at the end is ignored at recovery, as long as nothing follows it:
                // this segment takes no more appends.
                failure = new IOException("write to spool journal " + s.path + " failed: " + e.getMessage(), e);
                abandonCurrent();
                throw failure;
            }
            s.size = start + total;
            synchronized (s) {
                s.live++;
            }
            return new Appended(s.path, start + prefix.length, ++appended);
        }
    }

    /**
     * Completes once an fdatasync covering append number {@code sequence} has finished. One sync
     * thread serves everybody: each fdatasync covers every append made before it started (group
     * commit), and nobody waits in a thread of its own.
     */
    synchronized CompletableFuture<Void> durable(long sequence) {
        for (long[] range : lost) {
            if (sequence > range[0] && sequence <= range[1]) {
                return CompletableFuture.failedFuture(failure != null ? failure
                        : new IOException("fsync of the spool journal failed"));
            }
        }
        if (synced >= sequence) {
            return CompletableFuture.completedFuture(null);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IOException("spool journal closed"));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        waiters.add(done);
        if (syncer == null) {
            syncer = new Thread(() -> {
                SYNC_THREAD.set(Boolean.TRUE);
                syncLoop();
            }, "mta-spool-sync");
            syncer.setDaemon(true);
            syncer.start();
        }
        notifyAll();
        return done;
    }

    private void syncLoop() {
        while (true) {
            List<CompletableFuture<Void>> batch = new ArrayList<>();
            long covers;
            FileChannel channel;
            synchronized (this) {
                while (waiters.isEmpty() && !closed) {
                    try {
                        wait(1000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    if (waiters.isEmpty()) {
                        retireIfEmpty();
                        // A quiet second since a failure: the next append tries afresh (health recovers).
                        failure = null;
                    }
                }
                if (waiters.isEmpty()) {
                    return;
                }
                if (!closed) {
                    // Group commit window: give the next commit (usually under a millisecond away
                    // under load) the chance to share this fdatasync. Ends at its arrival, or after
                    // 1 ms. Fewer flushes measured ~10% less CPU per message in bench/.
                    try {
                        wait(GROUP_COMMIT_WINDOW_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                covers = appended;
                channel = current == null ? null : current.channel;
                batch.addAll(waiters);
                waiters.clear();
                forcing = channel != null;
            }
            IOException error = null;
            try {
                if (channel != null) {
                    // Records in older segments were forced when their segment was sealed.
                    channel.force(false);
                }
            } catch (IOException e) {
                error = e;
            }
            IOException failed = null;
            synchronized (this) {
                forcing = false;
                if (error != null) {
                    // A failed fsync may have dropped pages, and retrying it proves nothing: every
                    // record not yet durable in this segment is lost (unacknowledged), and appends
                    // go to a new segment.
                    failure = new IOException("fsync of the spool journal failed: " + error.getMessage(), error);
                    failed = failure;
                    if (current != null && current.channel == channel) {
                        batch.addAll(waiters);
                        waiters.clear();
                        abandonCurrent();
                    }
                } else {
                    synced = Math.max(synced, covers);
                    failure = null;
                }
                notifyAll();
            }
            for (CompletableFuture<Void> done : batch) {
                if (failed != null) {
                    done.completeExceptionally(failed);
                } else {
                    done.complete(null);
                }
            }
        }
    }

    /** Seals the current segment (flushed, so its appends are durable) and starts a new one. */
    private void rotate() throws IOException {
        Segment old = current;
        if (old != null) {
            try {
                old.channel.force(false);
            } catch (IOException e) {
                failure = new IOException("fsync of the spool journal failed: " + e.getMessage(), e);
                failWaiters(failure);
                abandonCurrent();
                throw failure;
            }
            synced = appended;
            seal(old);
            current = null;
        }
        SpoolFiles.directory(dir);
        Path file = dir.resolve(String.format("%016X%s", nextSegmentNumber++, SUFFIX));
        FileChannel ch = SpoolFiles.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        // The new name must survive a crash before any record in it is acknowledged.
        dirSync.sync();
        current = new Segment(file, ch, 0);
        segments.put(file, current);
    }

    /**
     * Stops appending to the current segment after a failure (holding the lock): appends not yet
     * durable are recorded as lost, so no commit of theirs completes, and the next append starts a
     * new segment.
     */
    private void abandonCurrent() {
        if (appended > synced) {
            lost.addLast(new long[] {synced, appended});
            if (lost.size() > 64) {
                lost.removeFirst();
            }
            synced = appended;
        }
        Segment s = current;
        current = null;
        if (s != null) {
            seal(s);
        }
    }

    private void failWaiters(IOException e) {
        for (CompletableFuture<Void> w : waiters) {
            w.completeExceptionally(e);
        }
        waiters.clear();
    }

    /**
     * Deletes the segment being written when nothing in it is live and no commit waits (holding the
     * lock): its space comes back now instead of after 32 MiB more appends. The next append starts
     * a new segment.
     */
    private void retireIfEmpty() {
        Segment s = current;
        if (s == null || forcing || !waiters.isEmpty() || synced < appended) {
            return;
        }
        synchronized (s) {
            if (s.live > 0) {
                return;
            }
        }
        current = null;
        seal(s);
    }

    private void seal(Segment s) {
        synchronized (s) {
            s.sealed = true;
            if (s.live == 0) {
                delete(s);
            }
        }
    }

    /**
     * Makes the done marks written so far durable: an fdatasync of every segment still present (a
     * segment deleted meanwhile had nothing live). For the event outbox's checkpoints.
     */
    void forceAll() throws IOException {
        for (Segment s : List.copyOf(segments.values())) {
            synchronized (s) {
                try {
                    if (s.channel.isOpen()) {
                        s.channel.force(false);
                    }
                } catch (ClosedChannelException ignored) {
                    // retired meanwhile: nothing in it was live
                }
            }
        }
    }

    /** Marks a record finished (or moved to a queue file); deletes its segment when nothing in it is left. */
    void markDone(Path segment, long trailerOffset) throws IOException {
        Segment s = segments.get(segment);
        if (s == null) {
            return;
        }
        if (markDone(s, trailerOffset) && s.size >= RETIRE_SIZE) {
            // The segment being written is empty and already large: give its space back now.
            synchronized (this) {
                retireIfEmpty();
            }
        }
    }

    /** Returns true when the segment has no live record left and is still being written. */
    private boolean markDone(Segment s, long trailerOffset) throws IOException {
        synchronized (s) {
            if (!s.channel.isOpen()) {
                return false;
            }
            ByteBuffer check = ByteBuffer.allocate(TRAILER_DONE.length);
            s.channel.read(check, trailerOffset);
            if (Arrays.equals(check.array(), TRAILER_DONE)) {
                return false;
            }
            s.channel.write(ByteBuffer.wrap(TRAILER_DONE), trailerOffset);
            if (--s.live <= 0 && s.sealed) {
                delete(s);
                return false;
            }
            return s.live <= 0;
        }
    }

    private void delete(Segment s) {
        segments.remove(s.path);
        try {
            s.channel.close();
            Files.deleteIfExists(s.path);
        } catch (IOException e) {
            log.warn("spool: cannot delete finished journal segment {}: {}", s.path, e.getMessage());
        }
    }

    /** False from a failed write or fdatasync until an fdatasync succeeds again (or the next quiet second). */
    synchronized boolean healthy() {
        return failure == null && dirSync.healthy();
    }

    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            notifyAll();
            t = syncer;
        }
        if (t != null) {
            try {
                // Commits already waiting still get their fsync.
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeSegments();
    }

    private synchronized void closeSegments() {
        for (Segment s : segments.values()) {
            try {
                s.channel.close();
            } catch (IOException ignored) {
                // nothing pending: appends are forced before they are acknowledged
            }
        }
        segments.clear();
        current = null;
        dirSync.close();
    }

    /** "RELAYMTA-REC " and the length in 12 digits: built by hand, as this runs once per received message. */
    private static byte[] prefix(long length) {
        byte[] b = new byte[PREFIX_LENGTH];
        for (int i = 0; i < RECORD.length(); i++) {
            b[i] = (byte) RECORD.charAt(i);
        }
        long v = length;
        for (int i = PREFIX_LENGTH - 2; i >= RECORD.length(); i--) {
            b[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        b[PREFIX_LENGTH - 1] = '\n';
        return b;
    }

    /** Parses a record's length line; -1 when there is none (end of the segment, or a torn last record). */
    static long recordLength(byte[] prefix) {
        String s = new String(prefix, StandardCharsets.US_ASCII);
        if (!s.startsWith(RECORD) || s.charAt(PREFIX_LENGTH - 1) != '\n') {
            return -1;
        }
        try {
            return Long.parseLong(s.substring(RECORD.length(), PREFIX_LENGTH - 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
