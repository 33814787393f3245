package org.relaymta.core.internal.spool;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Receives one message's content into the spool. Nothing is acknowledged until {@link #commit()}
 * returns; {@link #abort()} throws the partial message away.
 *
 * <p>A message is kept in memory while it is small and then appended to the journal at commit (one
 * group-committed fsync shared with concurrent messages). Past {@link #SPILL_THRESHOLD} it moves to
 * its own queue file, streamed to disk, so memory stays bounded whatever the message size.
 */
public final class SpoolWriter extends OutputStream {
    /** Larger messages get their own queue file instead of a journal record. */
    static final int SPILL_THRESHOLD = 512 * 1024;

    private final Spool spool;
    private final String id;
    private final Envelope envelope;
    private final int contentOffset;
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

    SpoolWriter(Spool spool, String id, Envelope envelope, byte[] header) {
        this.spool = spool;
        this.id = id;
        this.envelope = envelope;
        this.buffer = Arrays.copyOf(header, Math.max(8192, header.length * 2));
        this.count = header.length;
        this.contentOffset = header.length;
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
        if (out != null) {
            out.write(b, off, len);
            return;
        }
        if (count + len > SPILL_THRESHOLD) {
            spill();
            out.write(b, off, len);
            return;
        }
        if (count + len > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(count + len, buffer.length * 2));
        }
        System.arraycopy(b, off, buffer, count, len);
        count += len;
    }

    private static final java.lang.invoke.VarHandle LONGS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(
            long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

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
        channel = FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
        out = new BufferedOutputStream(Channels.newOutputStream(channel), 64 * 1024);
        out.write(buffer, 0, count);
        buffer = null;
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
    public static <T> T awaitCommit(java.util.concurrent.CompletableFuture<T> commit, String id) throws IOException {
        try {
            return commit.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while committing " + id, e);
        } catch (java.util.concurrent.ExecutionException e) {
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
    public java.util.concurrent.CompletableFuture<SpooledMessage> commitAsync(java.util.concurrent.Executor blocking) {
        if (closed) {
            throw new IllegalStateException("spool writer for " + id + " already closed");
        }
        closed = true;
        byte[] trailer = eightBit ? Spool.TRAILER_8BIT : Spool.TRAILER_7BIT;
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
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            try {
                out.write(trailer);
                out.flush();
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
                throw new java.util.concurrent.CompletionException(e);
            }
        }, blocking);
    }

    /**
     * After {@link #commitAsync} of a message kept in memory: its content (not to be modified), so a first
     * delivery need not read it back from the disk; null for a message in its own file.
     */
    public java.nio.ByteBuffer committedContent() {
        byte[] record = committedRecord;
        return record == null ? null : java.nio.ByteBuffer.wrap(record, contentOffset, (int) contentLength).slice();
    }

    /** Discards the partial message. Safe to call after a failed commit. */
    public void abort() {
        closed = true;
        buffer = null;
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
