package org.relaymta.core.internal.spool;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.relaymta.core.queue.Recipient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable message store. A new message is a record appended to a journal segment
 * ({@link Journal}, one fdatasync shared by concurrent receivers); a large one, or one that has to
 * wait (deferred, held), lives in its own file {@code queue/ID}. Either way the bytes are a header,
 * the content and a trailer line, and they are on disk before {@link SpoolWriter#commit()} returns:
 * only then may the client be told {@code 250}. A record or file without its trailer was never
 * acknowledged (a crash during DATA) and is ignored or removed at start. The content is
 * CRLF-canonical and so never contains a bare LF, which is what makes the LF-terminated trailer
 * unambiguous.
 *
 * <p>Per-recipient state after an attempt lives in a small {@code ID.state} file beside the message,
 * replaced atomically.
 */
public final class Spool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    static final String MAGIC = "RELAYMTA-SPOOL 1";
    /** Trailers of equal length; the last digit says whether the content has 8-bit bytes. */
    static final byte[] TRAILER_7BIT = "RELAYMTA-END 7\n".getBytes(StandardCharsets.US_ASCII);
    static final byte[] TRAILER_8BIT = "RELAYMTA-END 8\n".getBytes(StandardCharsets.US_ASCII);
    static final int TRAILER_LENGTH = TRAILER_7BIT.length;
    static final String STATE_SUFFIX = ".state";

    private final Path root;
    private final Path queue;
    private final DirectorySync queueSync;
    private final Journal journal;
    private final QueueIds ids = new QueueIds();
    private final Clock clock;
    private final MemoryBudget memory = MemoryBudget.forHeap();
    private SpoolScanner scanner;
    private volatile Consumer<Duration> fsyncObserver = d -> { };

    private Spool(Path root, Clock clock) {
        this.root = root;
        this.queue = root.resolve("queue");
        this.queueSync = new DirectorySync(queue);
        this.journal = new Journal(root.resolve(Journal.DIRECTORY));
        this.clock = clock;
    }

    /** Opens (creating if needed) the spool at {@code root} and discards unacknowledged partial files. */
    private volatile SpoolFence fence;

    public static Spool open(Path root, Clock clock) throws IOException {
        Spool spool = new Spool(root, clock);
        SpoolFiles.directory(spool.root);
        SpoolFiles.directory(spool.queue);
        spool.scanner = new SpoolScanner(spool.queue, spool.journal, clock, true);
        return spool;
    }

    /**
     * Opens an existing spool for inspection and operator changes; files still being received (a
     * relay may be running on it) are skipped, never removed.
     */
    public static Spool openExisting(Path root, Clock clock) {
        Spool spool = new Spool(root, clock);
        spool.scanner = new SpoolScanner(spool.queue, spool.journal, clock, false);
        return spool;
    }

    /** Receives the time each commit took to make a message durable (metrics). */
    public void onFsync(Consumer<Duration> observer) {
        this.fsyncObserver = observer;
    }

    void recordFsync(long nanos) {
        fsyncObserver.accept(Duration.ofNanos(nanos));
    }

    public Path root() {
        return root;
    }

    /**
     * Whether the caller runs on the spool's commit thread (a commit's continuation, such as queueing
     * the message, runs there): work that may wait for another commit must move off it.
     */
    public static boolean onSyncThread() {
        return Journal.onSyncThread();
    }

    /** The fence of a spool nodes take over from each other (none by default): checked before every change. */
    public void fence(SpoolFence fence) {
        this.fence = fence;
    }

    /** Whether this node may no longer change the spool (another node took it over). */
    public boolean fenced() {
        SpoolFence f = fence;
        if (f == null) {
            return false;
        }
        try {
            f.check();
            return false;
        } catch (SpoolFence.FencedException e) {
            return true;
        }
    }

    private void checkFence() throws IOException {
        SpoolFence f = fence;
        if (f != null) {
            f.check();
        }
    }

    /** Starts writing a new message; the content written to the returned stream must already be CRLF-canonical. */
    public SpoolWriter create(Envelope envelope) throws IOException {
        checkFence();
        String id = ids.next(clock.millis());
        return new SpoolWriter(this, id, envelope, header(envelope, id), memory);
    }

    /** The bytes of content that messages being received may keep in memory together. */
    public MemoryBudget memory() {
        return memory;
    }

    Path queueFile(String id) {
        return queue.resolve(id);
    }

    static byte[] header(Envelope envelope, String id) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(MAGIC).append('\n');
        sb.append("id=").append(id).append('\n');
        sb.append("arrival=").append(envelope.arrival().toEpochMilli()).append('\n');
        sb.append("client=").append(envelope.clientAddress()).append('\n');
        sb.append("sender=").append(envelope.sender()).append('\n');
        for (String r : envelope.recipients()) {
            sb.append("rcpt=").append(r).append('\n');
        }
        if (envelope.requireTls()) {
            sb.append("requiretls=yes\n");
        }
        sb.append("content\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Called by {@link SpoolWriter#commit()} after the file itself is fsynced: makes its name durable. */
    SpooledMessage publish(String id, Envelope envelope, Path file, long contentOffset, long contentLength,
                           boolean eightBit) throws IOException {
        queueSync.sync();
        return SpooledMessage.received(id, envelope, file, contentOffset, contentLength, eightBit, false);
    }

    /**
     * Called by {@link SpoolWriter} for a message kept in memory: appends it now (a write to the page
     * cache) and completes once the shared fdatasync covered it.
     */
    CompletableFuture<SpooledMessage> appendToJournal(String id, Envelope envelope, byte[] record,
                                                                           int length, int contentOffset,
                                                                           long contentLength, boolean eightBit) {
        long start = System.nanoTime();
        Journal.Appended at;
        try {
            at = journal.append(record, length);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return journal.durable(at.sequence()).handle((ok, failure) -> {
            if (failure != null) {
                // Not acknowledged: make sure a restart does not deliver it either.
                try {
                    journal.markDone(at.segment(), at.bodyOffset() + length - TRAILER_LENGTH);
                } catch (IOException ignored) {
                    // the journal is failed anyway
                }
                throw new CompletionException(failure);
            }
            recordFsync(System.nanoTime() - start);
            return SpooledMessage.received(id, envelope, at.segment(), at.bodyOffset() + contentOffset, contentLength,
                    eightBit, true);
        });
    }

    /** Every queued message as much as scheduling needs (one small read per waiting message), oldest first. */
    public List<StoredMessage> scan() throws IOException {
        return scanner.scan();
    }

    /** A restart's view: journal records and waiting ids now, their due times from {@link SpoolRecovery#readWaiting}. */
    public SpoolRecovery recovery() throws IOException {
        return scanner.recovery();
    }

    /**
     * A queued message as a listing shows it: from its state file alone when that has the envelope
     * summary, else in full. Its content position is not read: use {@link #load} to read the content.
     */
    public Optional<SpooledMessage> summary(String id) throws IOException {
        return scanner.summary(id);
    }

    /** One queued message in full, or empty when it is not (or no longer) in the spool. */
    public Optional<SpooledMessage> load(String id) throws IOException {
        return scanner.load(id);
    }

    /** Every message in the queue, with its saved per-recipient state, oldest first. */
    public List<SpooledMessage> recover() throws IOException {
        List<SpooledMessage> messages = new ArrayList<>();
        for (StoredMessage s : scan()) {
            if (s.journaled() != null) {
                messages.add(s.journaled());
            } else {
                load(s.id()).ifPresent(messages::add);
            }
        }
        return messages;
    }

    /**
     * Saves the per-recipient state atomically (write, fsync, rename) and returns the message as
     * stored: a message still in the journal is first moved to its own queue file, since it may wait
     * for days and must not keep a whole segment alive.
     */
    public SpooledMessage saveState(SpooledMessage message) throws IOException {
        checkFence();
        if (message.journaled()) {
            SpooledMessage moved = moveToQueueFile(message);
            writeState(moved);
            journal.markDone(message.file(), message.contentOffset() + message.contentLength());
            return moved;
        }
        writeState(message);
        return message;
    }

    private SpooledMessage moveToQueueFile(SpooledMessage m) throws IOException {
        Path file = queue.resolve(m.id());
        byte[] header = header(m.envelope(), m.id());
        try (FileChannel out = SpoolFiles.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
             FileChannel in = FileChannel.open(m.file(), StandardOpenOption.READ)) {
            writeFully(out, ByteBuffer.wrap(header));
            long done = 0;
            while (done < m.contentLength()) {
                long n = in.transferTo(m.contentOffset() + done, m.contentLength() - done, out);
                if (n <= 0) {
                    throw new IOException("journal segment " + m.file() + " ends inside message " + m.id());
                }
                done += n;
            }
            writeFully(out, ByteBuffer.wrap(m.eightBit() ? TRAILER_8BIT : TRAILER_7BIT));
            out.force(false);
        }
        queueSync.sync();
        return new SpooledMessage(m.id(), m.envelope(), file, header.length, m.contentLength(), m.recipients(),
                m.attempts(), m.nextAttempt(), m.state(), m.delayWarned(), m.eightBit(), false, m.facts());
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private void writeState(SpooledMessage message) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("attempts=").append(message.attempts()).append('\n');
        sb.append("next=").append(message.nextAttempt().toEpochMilli()).append('\n');
        sb.append("queue=").append(message.state().postfixName()).append('\n');
        sb.append("warned=").append(message.delayWarned()).append('\n');
        // What a listing shows, so it reads this file alone (the message file keeps the truth).
        sb.append("arrival=").append(message.envelope().arrival().toEpochMilli()).append('\n');
        sb.append("size=").append(message.contentLength()).append('\n');
        sb.append("sender=").append(oneLine(message.envelope().sender())).append('\n');
        for (Recipient r : message.recipients()) {
            sb.append("rcpt=").append(r.status()).append('\t').append(oneLine(r.dsn())).append('\t')
                    .append(oneLine(r.lastReason())).append('\t').append(r.address()).append('\n');
        }
        Path tmp = queue.resolve(message.id() + STATE_SUFFIX + ".tmp");
        try (FileChannel ch = SpoolFiles.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            ch.force(false);
        }
        Files.move(tmp, queue.resolve(message.id() + STATE_SUFFIX), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    private static String oneLine(String s) {
        return s.replace('\t', ' ').replace('\r', ' ').replace('\n', ' ');
    }

    /**
     * Makes every change written so far durable: the journal's done marks and the queue directory's
     * renames and removals (state files are fsynced when written). The event outbox runs this
     * before it moves its checkpoint, so the events before the checkpoint agree with the spool.
     */
    public void sync() {
        try {
            journal.forceAll();
            queueSync.sync();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sync the spool: " + e.getMessage(), e);
        }
    }

    /** Removes a finished message. A crash before this only causes a repeated delivery, never a loss. */
    public void remove(SpooledMessage message) throws IOException {
        checkFence();
        if (message.journaled()) {
            journal.markDone(message.file(), message.contentOffset() + message.contentLength());
            return;
        }
        Files.deleteIfExists(message.file());
        Files.deleteIfExists(queue.resolve(message.id() + STATE_SUFFIX));
    }

    /** The message content (CRLF-canonical, not dot-stuffed). */
    /**
     * The message's Message-ID and DKIM domain: as known since intake, else read from the stored
     * header section (at most 16 KiB); {@link MessageFacts#NONE} when the content cannot be read.
     */
    public MessageFacts facts(SpooledMessage message) {
        if (message.facts() != null) {
            return message.facts();
        }
        try (InputStream in = openContent(message)) {
            byte[] head = in.readNBytes(MessageIdSniffer.LIMIT);
            String text = new String(head, StandardCharsets.UTF_8);
            int end = text.indexOf("\r\n\r\n");
            return MessageFacts.of(end < 0 ? text : text.substring(0, end));
        } catch (IOException | RuntimeException e) {
            return MessageFacts.NONE;
        }
    }

    public InputStream openContent(SpooledMessage message) throws IOException {
        InputStream in = Files.newInputStream(message.file());
        in.skipNBytes(message.contentOffset());
        // Stop before the trailer.
        return new FilterInputStream(in) {
            private long left = message.contentLength();

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int c = super.read();
                if (c >= 0) {
                    left--;
                }
                return c;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }
        };
    }

    /** Releases the directory handle kept for fsyncs. */
    public void close() {
        journal.close();
        queueSync.close();
    }

    /** False once a directory fsync failed, or while the journal cannot write. */
    public boolean healthy() {
        return queueSync.healthy() && journal.healthy() && Files.isWritable(queue);
    }

    private volatile FileStore store;

    /**
     * Bytes the spool's file system has free for it: one statvfs, cheap next to an SMTP command, so
     * every MAIL sees the disk as it is. {@code Long.MAX_VALUE} when the file system cannot tell.
     */
    public long usableSpace() {
        try {
            FileStore fs = store;
            if (fs == null) {
                fs = Files.getFileStore(queue);
                store = fs;
            }
            return fs.getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

}
