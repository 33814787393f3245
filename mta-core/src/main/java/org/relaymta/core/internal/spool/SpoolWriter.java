package org.relaymta.core.internal.spool;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * Receives one message's content into the spool. Nothing is acknowledged until {@link #commit()}
 * returns; {@link #abort()} throws the partial message away.
 *
 * <p>A message is kept in memory while it is small and then appended to the journal at commit (one
 * group-committed fsync shared with concurrent messages). Past {@link #SPILL_THRESHOLD}, or as soon
 * as the engine's {@link MemoryBudget} has no room for it to grow, it moves to its own queue file,
 * streamed to disk in pieces of at most {@link #WRITE_CHUNK}, so memory stays bounded whatever the
 * message size and however many arrive at once.
 */
public final class SpoolWriter extends OutputStream {
    /** Larger messages get their own queue file instead of a journal record. */
    static final int SPILL_THRESHOLD = 512 * 1024;
    /**
     * The largest write handed to a file channel at once: the JDK copies a heap buffer into a
     * temporary direct buffer of the whole size (and keeps it per thread), so one 10 MB write would
     * take 10 MB of direct memory.
     */
    static final int WRITE_CHUNK = 64 * 1024;
    private static final int INITIAL_BUFFER = 8192;

    private final Spool spool;
    private final String id;
    private Envelope envelope;
    private int contentOffset;
    /** The record's envelope lines, kept to rewrite a spilled file with a prefix. */
    private byte[] envelopeHeader;
    /** Where the content starts in a spilled file as it was first written (the envelope may change after). */
    private int fileContentOffset;
    private boolean envelopeChanged;
    private byte[] buffer;
    private int count;
    private Path file;
    private FileChannel channel;
    private OutputStream out;
    private long contentLength;
    private boolean eightBit;
    private boolean closed;
    /** The committed journal record, kept for {@link #committedContent()}. */
    private byte[] committedRecord;
    private final MemoryBudget memory;
    /** What this message's buffer holds of {@link #memory} beyond its first {@link #INITIAL_BUFFER} bytes. */
    private long reserved;

    SpoolWriter(Spool spool, String id, Envelope envelope, byte[] header, MemoryBudget memory) {
        this.spool = spool;
        this.id = id;
        this.envelope = envelope;
        this.memory = memory;
        this.buffer = Arrays.copyOf(header, Math.max(INITIAL_BUFFER, header.length * 2));
        this.count = header.length;
        this.contentOffset = header.length;
        this.envelopeHeader = header;
        this.fileContentOffset = header.length;
    }

    /** The envelope as it will be stored. */
    public Envelope envelope() {
        return envelope;
    }

    /** The content written so far (a milter reads the body from here). */
    public InputStream contentSoFar() throws IOException {
        if (out == null) {
            return new ByteArrayInputStream(buffer, contentOffset, count - contentOffset);
        }
        out.flush();
        FileChannel read = FileChannel.open(file, StandardOpenOption.READ);
        read.position(fileContentOffset);
        return new BufferedInputStream(Channels.newInputStream(read), 64 * 1024);
    }

    /** Throws the content written so far away (a milter replaced the body); write the new content next. */
    public void resetContent() throws IOException {
        contentLength = 0;
        eightBit = false;
        if (out == null) {
            count = contentOffset;
            return;
        }
        out.flush();
        channel.truncate(fileContentOffset);
        channel.position(fileContentOffset);
        out = new BufferedOutputStream(Channels.newOutputStream(channel), 64 * 1024);
    }

    /** Stores {@code changed} instead of the envelope given at the start (a milter changed sender or recipients). */
    public void replaceEnvelope(Envelope changed) {
        byte[] header = Spool.header(changed, id);
        if (out == null) {
            byte[] rebuilt = new byte[header.length + (count - contentOffset) + 64];
            System.arraycopy(header, 0, rebuilt, 0, header.length);
            System.arraycopy(buffer, contentOffset, rebuilt, header.length, count - contentOffset);
            count = header.length + (count - contentOffset);
            buffer = rebuilt;
        } else {
            envelopeChanged = true;
        }
        envelope = changed;
        envelopeHeader = header;
        contentOffset = header.length;
    }

    public String id() {
        return id;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("spool writer for " + id + " already closed");
        }
        if (!eightBit) {
            eightBit = hasEightBit(b, off, len);
        }
        contentLength += len;
        if (out == null && count + len > buffer.length && (count + len > SPILL_THRESHOLD || !grow(count + len))) {
            spill();
        }
        if (out != null) {
            for (int at = off; at < off + len; at += WRITE_CHUNK) {
                out.write(b, at, Math.min(WRITE_CHUNK, off + len - at));
            }
            return;
        }
        System.arraycopy(b, off, buffer, count, len);
        count += len;
    }

    /** Grows the buffer to hold {@code needed} bytes if the memory budget allows; false: spill instead. */
    private boolean grow(int needed) {
        int size = Math.min(SPILL_THRESHOLD, Math.max(needed, buffer.length * 2));
        long extra = Math.max(0, size - INITIAL_BUFFER) - reserved;
        if (extra > 0 && !memory.tryReserve(extra)) {
            return false;
        }
        reserved += Math.max(0, extra);
        buffer = Arrays.copyOf(buffer, size);
        return true;
    }

    /** Gives the buffer's share of the memory budget back (the buffer is gone or handed over). */
    private void releaseMemory() {
        if (reserved > 0) {
            memory.release(reserved);
            reserved = 0;
        }
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(
            long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Whether any byte has its high bit set; eight bytes per step (every byte of a 7-bit message is looked at). */
    static boolean hasEightBit(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        for (; i + 8 <= end; i += 8) {
            if (((long) LONGS.get(b, i) & 0x8080808080808080L) != 0) {
                return true;
            }
        }
        for (; i < end; i++) {
            if (b[i] < 0) {
                return true;
            }
        }
        return false;
    }

    /** Moves the message so far to its own queue file; the rest streams there. */
    private void spill() throws IOException {
        file = spool.queueFile(id);
        channel = SpoolFiles.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        out = new BufferedOutputStream(Channels.newOutputStream(channel), WRITE_CHUNK);
        out.write(buffer, 0, count);
        buffer = null;
        releaseMemory();
    }

    @Override
    public void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    /** Makes the message durable (journal group commit, or file and directory fsync) and returns it. */
    public SpooledMessage commit() throws IOException {
        return awaitCommit(commitAsync(Runnable::run), id);
    }

    /** Waits for a commit future, rethrowing its failure as it was thrown (IOException or unchecked). */
    public static <T> T awaitCommit(CompletableFuture<T> commit, String id) throws IOException {
        try {
            return commit.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while committing " + id, e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /**
     * Makes the message durable without blocking the caller on the disk: a journal record is written
     * now and completes with the next group fdatasync; a message in its own file is flushed on
     * {@code blocking} (it needs its own fsyncs).
     */
    public CompletableFuture<SpooledMessage> commitAsync(Executor blocking) {
        return commitAsync(blocking, null);
    }

    /**
     * As {@link #commitAsync(java.util.concurrent.Executor)}, with {@code prefix} put before the
     * content written so far: the header section the cleanup stage held back (checked, signed).
     * A message in memory gets it with one copy; one in its own file is rewritten once.
     */
    public CompletableFuture<SpooledMessage> commitAsync(Executor blocking,
                                                                          byte[] prefix) {
        if (closed) {
            throw new IllegalStateException("spool writer for " + id + " already closed");
        }
        if (prefix != null && prefix.length > 0) {
            eightBit |= hasEightBit(prefix, 0, prefix.length);
            contentLength += prefix.length;
        } else {
            prefix = envelopeChanged ? new byte[0] : null;
        }
        closed = true;
        // The record leaves this writer (journal, or the first delivery's in-memory copy): not received content any more.
        releaseMemory();
        byte[] trailer = eightBit ? Spool.TRAILER_8BIT : Spool.TRAILER_7BIT;
        if (out == null && prefix != null) {
            byte[] withPrefix = new byte[count + prefix.length + trailer.length];
            System.arraycopy(buffer, 0, withPrefix, 0, contentOffset);
            System.arraycopy(prefix, 0, withPrefix, contentOffset, prefix.length);
            System.arraycopy(buffer, contentOffset, withPrefix, contentOffset + prefix.length, count - contentOffset);
            count += prefix.length;
            buffer = withPrefix;
        }
        if (out == null) {
            if (count + trailer.length > buffer.length) {
                buffer = Arrays.copyOf(buffer, count + trailer.length);
            }
            System.arraycopy(trailer, 0, buffer, count, trailer.length);
            byte[] record = buffer;
            buffer = null;
            committedRecord = record;
            return spool.appendToJournal(id, envelope, record, count + trailer.length, contentOffset, contentLength,
                    eightBit);
        }
        byte[] head = prefix;
        return CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            try {
                out.write(trailer);
                out.flush();
                if (head != null) {
                    rewriteWithPrefix(head);
                }
                channel.force(false);
                channel.close();
                SpooledMessage published = spool.publish(id, envelope, file, contentOffset, contentLength, eightBit);
                spool.recordFsync(System.nanoTime() - start);
                return published;
            } catch (IOException | RuntimeException e) {
                try {
                    channel.close();
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // removed at next start by Spool.open
                }
                throw new CompletionException(e);
            }
        }, blocking);
    }

    /** Writes the file again as envelope, {@code head}, then the content and trailer so far; {@code channel} becomes the new file's. */
    private void rewriteWithPrefix(byte[] head) throws IOException {
        Path rewritten = file.resolveSibling(file.getFileName() + ".prefixed.tmp");   // .tmp: removed at start if a crash leaves it
        try (FileChannel source = FileChannel.open(file, StandardOpenOption.READ);
             FileChannel target = SpoolFiles.open(rewritten, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            writeFully(target, ByteBuffer.wrap(envelopeHeader));
            writeFully(target, ByteBuffer.wrap(head));
            long size = source.size();
            long position = fileContentOffset;
            while (position < size) {
                position += source.transferTo(position, size - position, target);
            }
            target.force(false);
        } catch (IOException e) {
            Files.deleteIfExists(rewritten);
            throw e;
        }
        channel.close();
        Files.move(rewritten, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        channel = FileChannel.open(file, StandardOpenOption.WRITE);
    }

    private static void writeFully(FileChannel target, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            target.write(bytes);
        }
    }

    /**
     * After {@link #commitAsync} of a message kept in memory: its content (not to be modified), so a first
     * delivery need not read it back from the disk; null for a message in its own file.
     */
    public ByteBuffer committedContent() {
        byte[] record = committedRecord;
        return record == null ? null : ByteBuffer.wrap(record, contentOffset, (int) contentLength).slice();
    }

    /** Discards the partial message. Safe to call after a failed commit. */
    public void abort() {
        closed = true;
        buffer = null;
        releaseMemory();
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the file is deleted next
            }
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // removed at next start by Spool.open
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            abort();
        }
    }
}
