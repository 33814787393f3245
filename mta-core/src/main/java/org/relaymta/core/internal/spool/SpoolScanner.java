package org.relaymta.core.internal.spool;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.Recipient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the spool: the fast scan a restart needs (ids, queue, next attempt: one small read per
 * waiting message, none of its content), one message in full ({@link #load}), and the journal's
 * live records. Writing is {@link Spool}'s job.
 */
final class SpoolScanner {
    private static final Logger log = LoggerFactory.getLogger(SpoolScanner.class);

    private final Path queue;
    private final Journal journal;
    private final Clock clock;
    private final boolean removePartialFiles;

    SpoolScanner(Path queue, Journal journal, Clock clock, boolean removePartialFiles) {
        this.queue = queue;
        this.journal = journal;
        this.clock = clock;
        this.removePartialFiles = removePartialFiles;
    }

    /** Every queued message, oldest first, as much as scheduling needs. */
    List<StoredMessage> scan() throws IOException {
        SpoolRecovery recovery = recovery();
        List<StoredMessage> stored = new ArrayList<>(recovery.journaled());
        List<StoredMessage> waiting = Collections.synchronizedList(new ArrayList<>());
        recovery.readWaiting(waiting::add, 2, () -> false);
        stored.addAll(waiting);
        stored.sort(Comparator.comparing(StoredMessage::id));
        return stored;
    }

    /**
     * What must be known before the relay takes mail: the queue directory's listing (partial and
     * orphaned files removed at start) and the journal's live records. The waiting messages' due
     * times are read afterwards, by {@link SpoolRecovery#readWaiting}.
     */
    SpoolRecovery recovery() throws IOException {
        List<String> ids = new ArrayList<>();
        Set<String> withState = new HashSet<>();
        List<String> orphanStates = new ArrayList<>();
        // File.list: names only, no Path object per entry (200,000 entries for 100,000 waiting messages).
        String[] names = queue.toFile().list();
        if (names == null && Files.isDirectory(queue)) {
            throw new IOException("cannot list the spool directory " + queue);
        }
        for (String name : names == null ? new String[0] : names) {
            if (QueueIds.looksLikeId(name)) {
                ids.add(name);
            } else if (name.endsWith(Spool.STATE_SUFFIX)) {
                withState.add(name.substring(0, name.length() - Spool.STATE_SUFFIX.length()));
                orphanStates.add(name);
            } else if (removePartialFiles && name.endsWith(".tmp")) {
                // Only at start: a running relay may be replacing a state file right now.
                Files.deleteIfExists(queue.resolve(name));
            }
        }
        ids.sort(null);
        Set<String> queued = new HashSet<>(ids);
        if (removePartialFiles) {
            for (String name : orphanStates) {
                if (!queued.contains(name.substring(0, name.length() - Spool.STATE_SUFFIX.length()))) {
                    Files.deleteIfExists(queue.resolve(name));
                }
            }
        }
        List<StoredMessage> journaled = new ArrayList<>();
        for (Path segment : journal.segmentFiles()) {
            try {
                scanSegment(segment, queued, journaled);
            } catch (IOException | RuntimeException e) {
                log.error("spool: cannot read journal segment {}: {}; left in place", segment, e.getMessage());
            }
        }
        return new SpoolRecovery(this, journaled, ids, withState);
    }

    /** The due time and queue of a waiting message, or null when it is an unacknowledged partial file. */
    StoredMessage readWaiting(String id, boolean hasState) {
        try {
            return hasState ? fromStateFile(id) : fromNewFile(id);
        } catch (IOException | RuntimeException e) {
            // Keep the file for an operator to look at; never delete what we cannot read.
            log.error("spool: cannot read queued message {}: {}; left in place", id, e.getMessage());
            return null;
        }
    }

    /** A message that was tried or acted on: its state file says all; the file was complete before it was written. */
    private StoredMessage fromStateFile(String id) throws IOException {
        StateFile f = StateFile.read(queue.resolve(id + Spool.STATE_SUFFIX));
        if (f == null) {
            return fromNewFile(id);
        }
        Instant arrival = f.arrival() != null ? f.arrival() : Instant.ofEpochMilli(QueueIds.arrivalMillis(id));
        return new StoredMessage(id, f.state(), f.next() != null ? f.next() : arrival, arrival, null);
    }

    /** A queue file never tried (a large message): complete only with its trailer. */
    private StoredMessage fromNewFile(String id) throws IOException {
        Path file = queue.resolve(id);
        if (trailer(file) == null) {
            if (removePartialFiles) {
                log.info("spool: removing unacknowledged partial message {}", id);
                Files.deleteIfExists(file);
            }
            return null;
        }
        Instant arrival = Instant.ofEpochMilli(QueueIds.arrivalMillis(id));
        return new StoredMessage(id, QueueState.ACTIVE, clock.instant(), arrival, null);
    }

    /** One queued message in full (envelope, recipient states, where its content is), if it is still queued. */
    Optional<SpooledMessage> load(String id) throws IOException {
        if (!QueueIds.looksLikeId(id)) {
            return Optional.empty();
        }
        Path file = queue.resolve(id);
        long size;
        byte[] trailer;
        Header h;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < Spool.TRAILER_LENGTH) {
                return Optional.empty();
            }
            // One read for header and (for a small message) trailer: a listing does this 100,000 times.
            byte[] head = readAt(ch, 0, (int) Math.min(size, HEAD_READ));
            trailer = size <= HEAD_READ ? Arrays.copyOfRange(head, (int) size - Spool.TRAILER_LENGTH, (int) size)
                    : readAt(ch, size - Spool.TRAILER_LENGTH, Spool.TRAILER_LENGTH);
            if (!live(trailer)) {
                return Optional.empty();
            }
            h = headerEnd(head) > 0 ? parseHeader(new ByteArrayInputStream(head))
                    : parseHeader(new BufferedInputStream(Channels.newInputStream(ch.position(0)), 4096));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(readState(SpooledMessage.received(id, h.envelope(), file, h.length(),
                size - h.length() - Spool.TRAILER_LENGTH, eightBit(trailer), false)));
    }

    /** From the state file alone when it carries arrival, size and sender (written since the listing needed them). */
    Optional<SpooledMessage> summary(String id) throws IOException {
        if (!QueueIds.looksLikeId(id)) {
            return Optional.empty();
        }
        StateFile f = StateFile.read(queue.resolve(id + Spool.STATE_SUFFIX));
        if (f == null || !f.hasSummary() || !Files.exists(queue.resolve(id))) {
            return load(id); // never tried, an older state file, or the message went meanwhile
        }
        Envelope envelope = new Envelope(f.sender(), f.recipients().stream().map(Recipient::address).toList(), f.arrival(), "");
        return Optional.of(new SpooledMessage(id, envelope, queue.resolve(id), -1, f.size(), f.recipients(), f.attempts(),
                f.next(), f.state(), f.warned(), false, false, null));
    }

    private static final int HEAD_READ = 8192;
    private static final byte[] CONTENT_LINE = "\ncontent\n".getBytes(StandardCharsets.US_ASCII);

    /** Where the header ends in {@code b} (after its "content" line), or -1 when it goes on past {@code b}. */
    private static int headerEnd(byte[] b) {
        outer:
        for (int i = 0; i + CONTENT_LINE.length <= b.length; i++) {
            for (int j = 0; j < CONTENT_LINE.length; j++) {
                if (b[i + j] != CONTENT_LINE[j]) {
                    continue outer;
                }
            }
            return i + CONTENT_LINE.length;
        }
        return -1;
    }

    /** Adds the unfinished records of a journal segment; a record also present as a queue file was moved there. */
    private void scanSegment(Path segment, Set<String> queued, List<StoredMessage> out) throws IOException {
        int live = 0;
        List<Long> moved = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = 0;
            while (pos + Journal.PREFIX_LENGTH <= size) {
                long length = Journal.recordLength(readAt(ch, pos, Journal.PREFIX_LENGTH));
                long body = pos + Journal.PREFIX_LENGTH;
                if (length < Spool.TRAILER_LENGTH || body + length > size) {
                    // A torn last record: its append never returned, so it was never acknowledged.
                    break;
                }
                long trailerAt = body + length - Spool.TRAILER_LENGTH;
                byte[] trailer = readAt(ch, trailerAt, Spool.TRAILER_LENGTH);
                if (live(trailer)) {
                    Header h = parseHeader(new BufferedInputStream(Channels.newInputStream(ch.position(body)), 4096));
                    if (h.id() == null) {
                        throw new IOException("journal record at " + pos + " has no id");
                    }
                    if (queued.contains(h.id())) {
                        moved.add(trailerAt);
                    } else {
                        live++;
                        SpooledMessage m = SpooledMessage.received(h.id(), h.envelope(), segment, body + h.length(),
                                length - h.length() - Spool.TRAILER_LENGTH, eightBit(trailer), true);
                        out.add(new StoredMessage(m.id(), QueueState.ACTIVE, m.envelope().arrival(), m.envelope().arrival(), m));
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
                    ch.write(ByteBuffer.wrap(Journal.TRAILER_DONE), trailerAt);
                }
            }
        }
        journal.adopt(segment, live, removePartialFiles);
    }

    static byte[] readAt(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) {
                break;
            }
        }
        return b.hasRemaining() ? Arrays.copyOf(b.array(), b.position()) : b.array();
    }

    /** The trailer written at commit, or null when the file has none (never acknowledged). */
    static byte[] trailer(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < Spool.TRAILER_LENGTH) {
                return null;
            }
            byte[] b = readAt(ch, size - Spool.TRAILER_LENGTH, Spool.TRAILER_LENGTH);
            return live(b) ? b : null;
        }
    }

    /** A trailer of an acknowledged message not yet finished. */
    private static boolean live(byte[] trailer) {
        return Arrays.equals(trailer, Spool.TRAILER_7BIT) || eightBit(trailer);
    }

    private static boolean eightBit(byte[] trailer) {
        return Arrays.equals(trailer, Spool.TRAILER_8BIT);
    }

    /** The header lines of a spool file or journal record, and their length in bytes. */
    private record Header(String id, Instant arrival, String client, String sender, List<String> recipients, boolean requireTls,
                          long length) {
        Envelope envelope() {
            return new Envelope(sender, recipients, arrival, client, requireTls);
        }
    }

    private static Header parseHeader(InputStream in) throws IOException {
        String id = null;
        Instant arrival = null;
        String client = "";
        String sender = null;
        List<String> rcpts = new ArrayList<>();
        boolean requireTls = false;
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
                if (!l.equals(Spool.MAGIC)) {
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
            } else if (l.equals("requiretls=yes")) {
                requireTls = true;
            }
        }
        if (arrival == null || sender == null) {
            throw new IOException("spool header lacks arrival or sender");
        }
        return new Header(id, arrival, client, sender, rcpts, requireTls, pos);
    }

    private SpooledMessage readState(SpooledMessage message) throws IOException {
        StateFile f = StateFile.read(queue.resolve(message.id() + Spool.STATE_SUFFIX));
        if (f == null) {
            return message;
        }
        List<Recipient> recipients = f.recipients();
        if (recipients.size() != message.recipients().size()) {
            log.warn("spool: state of {} does not match its envelope; delivering to all recipients", message.id());
            recipients = message.recipients();
        }
        SpooledMessage restored = message.withState(recipients, f.attempts(), f.next() != null ? f.next() : message.nextAttempt())
                .withQueueState(f.state());
        return f.warned() ? restored.withDelayWarned() : restored;
    }
}
