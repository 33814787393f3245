package org.relaymta.core.spool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
    static final byte[] TRAILER_7BIT = "RELAYMTA-END 7\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    static final byte[] TRAILER_8BIT = "RELAYMTA-END 8\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    static final int TRAILER_LENGTH = TRAILER_7BIT.length;
    private static final String STATE_SUFFIX = ".state";

    private final Path root;
    private final Path queue;
    private final DirectorySync queueSync;
    private final Journal journal;
    private final QueueIds ids = new QueueIds();
    private final Clock clock;
    private boolean removePartialFiles;
    private volatile java.util.function.Consumer<java.time.Duration> fsyncObserver = d -> { };

    private Spool(Path root, Clock clock) {
        this.root = root;
        this.queue = root.resolve("queue");
        this.queueSync = new DirectorySync(queue);
        this.journal = new Journal(root.resolve(Journal.DIRECTORY));
        this.clock = clock;
    }

    /** Opens (creating if needed) the spool at {@code root} and discards unacknowledged partial files. */
    public static Spool open(Path root, Clock clock) throws IOException {
        Spool spool = new Spool(root, clock);
        Files.createDirectories(spool.queue);
        spool.removePartialFiles = true;
        return spool;
    }

    /**
     * Opens an existing spool for inspection and operator changes; files still being received (a
     * relay may be running on it) are skipped, never removed.
     */
    public static Spool openExisting(Path root, Clock clock) {
        return new Spool(root, clock);
    }

    /** Receives the time each commit took to make a message durable (metrics). */
    public void onFsync(java.util.function.Consumer<java.time.Duration> observer) {
        this.fsyncObserver = observer;
    }

    void recordFsync(long nanos) {
        fsyncObserver.accept(java.time.Duration.ofNanos(nanos));
    }

    public Path root() {
        return root;
    }

    /** Starts writing a new message; the content written to the returned stream must already be CRLF-canonical. */
    public SpoolWriter create(Envelope envelope) throws IOException {
        String id = ids.next(clock.millis());
        return new SpoolWriter(this, id, envelope, header(envelope, id));
    }

    Path queueFile(String id) {
        return queue.resolve(id);
    }

    private static byte[] header(Envelope envelope, String id) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(MAGIC).append('\n');
        sb.append("id=").append(id).append('\n');
        sb.append("arrival=").append(envelope.arrival().toEpochMilli()).append('\n');
        sb.append("client=").append(envelope.clientAddress()).append('\n');
        sb.append("sender=").append(envelope.sender()).append('\n');
        for (String r : envelope.recipients()) {
            sb.append("rcpt=").append(r).append('\n');
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
    java.util.concurrent.CompletableFuture<SpooledMessage> appendToJournal(String id, Envelope envelope, byte[] record,
                                                                           int length, int contentOffset,
                                                                           long contentLength, boolean eightBit) {
        long start = System.nanoTime();
        Journal.Appended at;
        try {
            at = journal.append(record, length);
        } catch (IOException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        return journal.durable(at.sequence()).handle((ok, failure) -> {
            if (failure != null) {
                // Not acknowledged: make sure a restart does not deliver it either.
                try {
                    journal.markDone(at.segment(), at.bodyOffset() + length - TRAILER_LENGTH);
                } catch (IOException ignored) {
                    // the journal is failed anyway
                }
                throw new java.util.concurrent.CompletionException(failure);
            }
            recordFsync(System.nanoTime() - start);
            return SpooledMessage.received(id, envelope, at.segment(), at.bodyOffset() + contentOffset, contentLength,
                    eightBit, true);
        });
    }

    /** Every message in the queue, with its saved per-recipient state, oldest first. */
    public List<SpooledMessage> recover() throws IOException {
        List<SpooledMessage> messages = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(queue)) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if (QueueIds.looksLikeId(name)) {
                    files.add(p);
                } else if (removePartialFiles && name.endsWith(STATE_SUFFIX)
                        && !Files.exists(queue.resolve(name.substring(0, name.length() - STATE_SUFFIX.length())))) {
                    Files.deleteIfExists(p);
                } else if (removePartialFiles && name.endsWith(".tmp")) {
                    // Only at start: a running relay may be replacing a state file right now.
                    Files.deleteIfExists(p);
                }
            }
        }
        files.sort(null);
        for (Path file : files) {
            try {
                byte[] trailer = trailer(file);
                if (trailer == null) {
                    if (removePartialFiles) {
                        log.info("spool: removing unacknowledged partial message {}", file.getFileName());
                        Files.deleteIfExists(file);
                        Files.deleteIfExists(queue.resolve(file.getFileName() + STATE_SUFFIX));
                    }
                    continue;
                }
                messages.add(read(file, trailer));
            } catch (IOException | RuntimeException e) {
                // Keep the file for an operator to look at; never delete what we cannot read.
                log.error("spool: cannot read queued message {}: {}; left in place", file, e.getMessage());
            }
        }
        java.util.Set<String> queued = new java.util.HashSet<>();
        messages.forEach(m -> queued.add(m.id()));
        for (Path segment : journal.segmentFiles()) {
            try {
                scanSegment(segment, queued, messages);
            } catch (IOException | RuntimeException e) {
                log.error("spool: cannot read journal segment {}: {}; left in place", segment, e.getMessage());
            }
        }
        messages.sort(java.util.Comparator.comparing(SpooledMessage::id));
        return messages;
    }

    /** Adds the unfinished records of a journal segment; a record also present as a queue file was moved there. */
    private void scanSegment(Path segment, java.util.Set<String> queued, List<SpooledMessage> messages) throws IOException {
        int live = 0;
        List<Long> moved = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = 0;
            while (pos + Journal.PREFIX_LENGTH <= size) {
                long length = Journal.recordLength(readAt(ch, pos, Journal.PREFIX_LENGTH));
                long body = pos + Journal.PREFIX_LENGTH;
                if (length < TRAILER_LENGTH || body + length > size) {
                    // A torn last record: its append never returned, so it was never acknowledged.
                    break;
                }
                long trailerAt = body + length - TRAILER_LENGTH;
                byte[] trailer = readAt(ch, trailerAt, TRAILER_LENGTH);
                if (live(trailer)) {
                    Header h = parseHeader(new java.io.BufferedInputStream(
                            java.nio.channels.Channels.newInputStream(ch.position(body)), 4096));
                    if (h.id() == null) {
                        throw new IOException("journal record at " + pos + " has no id");
                    }
                    if (queued.contains(h.id())) {
                        moved.add(trailerAt);
                    } else {
                        live++;
                        messages.add(SpooledMessage.received(h.id(), h.envelope(), segment, body + h.length(),
                                length - h.length() - TRAILER_LENGTH, eightBit(trailer), true));
                    }
                }
                pos = body + length;
            }
        }
        if (removePartialFiles && !moved.isEmpty()) {
            // Moved to a queue file before a crash: mark them here, before the segment's live count
            // exists (markDone would count them down although they were never counted up).
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                for (long trailerAt : moved) {
                    ch.write(java.nio.ByteBuffer.wrap(Journal.TRAILER_DONE), trailerAt);
                }
            }
        }
        journal.adopt(segment, live, removePartialFiles);
    }

    private static byte[] readAt(FileChannel ch, long position, int length) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) {
                break;
            }
        }
        return b.hasRemaining() ? java.util.Arrays.copyOf(b.array(), b.position()) : b.array();
    }

    /** The trailer written at commit, or null when the file has none (never acknowledged). */
    static byte[] trailer(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < TRAILER_LENGTH) {
                return null;
            }
            byte[] b = readAt(ch, size - TRAILER_LENGTH, TRAILER_LENGTH);
            return live(b) ? b : null;
        }
    }

    /** A trailer of an acknowledged message not yet finished. */
    private static boolean live(byte[] trailer) {
        return java.util.Arrays.equals(trailer, TRAILER_7BIT) || eightBit(trailer);
    }

    private static boolean eightBit(byte[] trailer) {
        return java.util.Arrays.equals(trailer, TRAILER_8BIT);
    }

    /** The header lines of a spool file or journal record, and their length in bytes. */
    private record Header(String id, Instant arrival, String client, String sender, List<String> recipients, long length) {
        Envelope envelope() {
            return new Envelope(sender, recipients, arrival, client);
        }
    }

    private static Header parseHeader(InputStream in) throws IOException {
        String id = null;
        Instant arrival = null;
        String client = "";
        String sender = null;
        List<String> rcpts = new ArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long pos = 0;
        boolean first = true;
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("truncated spool header");
            }
            pos++;
            if (c != '\n') {
                line.write(c);
                continue;
            }
            String l = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (first) {
                if (!l.equals(MAGIC)) {
                    throw new IOException("not a spool file (bad magic)");
                }
                first = false;
            } else if (l.equals("content")) {
                break;
            } else if (l.startsWith("id=")) {
                id = l.substring(3);
            } else if (l.startsWith("arrival=")) {
                arrival = Instant.ofEpochMilli(Long.parseLong(l.substring(8)));
            } else if (l.startsWith("client=")) {
                client = l.substring(7);
            } else if (l.startsWith("sender=")) {
                sender = l.substring(7);
            } else if (l.startsWith("rcpt=")) {
                rcpts.add(l.substring(5));
            }
        }
        if (arrival == null || sender == null) {
            throw new IOException("spool header lacks arrival or sender");
        }
        return new Header(id, arrival, client, sender, rcpts, pos);
    }

    /** A queue file whose live {@code trailer} was just read, with its saved state. */
    private SpooledMessage read(Path file, byte[] trailer) throws IOException {
        long size = Files.size(file);
        Header h;
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 4096)) {
            h = parseHeader(in);
        }
        return readState(SpooledMessage.received(file.getFileName().toString(), h.envelope(), file, h.length(),
                size - h.length() - TRAILER_LENGTH, eightBit(trailer), false));
    }

    private SpooledMessage readState(SpooledMessage message) throws IOException {
        Path stateFile = queue.resolve(message.id() + STATE_SUFFIX);
        List<String> lines;
        try {
            lines = Files.readAllLines(stateFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return message;
        }
        int attempts = 0;
        Instant next = message.nextAttempt();
        QueueState state = QueueState.DEFERRED;
        boolean warned = false;
        List<Recipient> recipients = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith("attempts=")) {
                attempts = Integer.parseInt(l.substring(9));
            } else if (l.startsWith("next=")) {
                next = Instant.ofEpochMilli(Long.parseLong(l.substring(5)));
            } else if (l.startsWith("queue=")) {
                state = QueueState.valueOf(l.substring(6).toUpperCase(java.util.Locale.ROOT));
            } else if (l.startsWith("warned=")) {
                warned = Boolean.parseBoolean(l.substring(7));
            } else if (l.startsWith("rcpt=")) {
                String[] f = l.substring(5).split("\t", 4);
                recipients.add(new Recipient(f[3], RecipientStatus.valueOf(f[0]), f[1], f[2]));
            }
        }
        if (recipients.size() != message.recipients().size()) {
            log.warn("spool: state of {} does not match its envelope; delivering to all recipients", message.id());
            recipients = message.recipients();
        }
        SpooledMessage restored = message.withState(recipients, attempts, next).withQueueState(state);
        return warned ? restored.withDelayWarned() : restored;
    }

    /**
     * Saves the per-recipient state atomically (write, fsync, rename) and returns the message as
     * stored: a message still in the journal is first moved to its own queue file, since it may wait
     * for days and must not keep a whole segment alive.
     */
    public SpooledMessage saveState(SpooledMessage message) throws IOException {
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
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
             FileChannel in = FileChannel.open(m.file(), StandardOpenOption.READ)) {
            writeFully(out, java.nio.ByteBuffer.wrap(header));
            long done = 0;
            while (done < m.contentLength()) {
                long n = in.transferTo(m.contentOffset() + done, m.contentLength() - done, out);
                if (n <= 0) {
                    throw new IOException("journal segment " + m.file() + " ends inside message " + m.id());
                }
                done += n;
            }
            writeFully(out, java.nio.ByteBuffer.wrap(m.eightBit() ? TRAILER_8BIT : TRAILER_7BIT));
            out.force(false);
        }
        queueSync.sync();
        return new SpooledMessage(m.id(), m.envelope(), file, header.length, m.contentLength(), m.recipients(),
                m.attempts(), m.nextAttempt(), m.state(), m.delayWarned(), m.eightBit(), false);
    }

    private static void writeFully(FileChannel ch, java.nio.ByteBuffer b) throws IOException {
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
        for (Recipient r : message.recipients()) {
            sb.append("rcpt=").append(r.status()).append('\t').append(oneLine(r.dsn())).append('\t')
                    .append(oneLine(r.lastReason())).append('\t').append(r.address()).append('\n');
        }
        Path tmp = queue.resolve(message.id() + STATE_SUFFIX + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            ch.force(false);
        }
        Files.move(tmp, queue.resolve(message.id() + STATE_SUFFIX), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    private static String oneLine(String s) {
        return s.replace('\t', ' ').replace('\r', ' ').replace('\n', ' ');
    }

    /** Removes a finished message. A crash before this only causes a repeated delivery, never a loss. */
    public void remove(SpooledMessage message) throws IOException {
        if (message.journaled()) {
            journal.markDone(message.file(), message.contentOffset() + message.contentLength());
            return;
        }
        Files.deleteIfExists(message.file());
        Files.deleteIfExists(queue.resolve(message.id() + STATE_SUFFIX));
    }

    /** The message content (CRLF-canonical, not dot-stuffed). */
    public InputStream openContent(SpooledMessage message) throws IOException {
        InputStream in = Files.newInputStream(message.file());
        in.skipNBytes(message.contentOffset());
        // Stop before the trailer.
        return new java.io.FilterInputStream(in) {
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

    /** False once a directory fsync failed: the spool must not acknowledge mail any more. */
    public boolean healthy() {
        return queueSync.healthy() && journal.healthy() && Files.isWritable(queue);
    }

}
