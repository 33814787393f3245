package org.relaymta.core.spool;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Receives one message's content into the spool. Nothing is acknowledged until {@link #commit()}
 * returns; {@link #abort()} throws the partial file away.
 */
public final class SpoolWriter extends OutputStream {
    private final Spool spool;
    private final String id;
    private final Envelope envelope;
    private final Path file;
    private final FileChannel channel;
    private final OutputStream out;
    private final long contentOffset;
    private long contentLength;
    private boolean eightBit;
    private boolean closed;

    SpoolWriter(Spool spool, String id, Envelope envelope, Path file, FileChannel channel, byte[] header) throws IOException {
        this.spool = spool;
        this.id = id;
        this.envelope = envelope;
        this.file = file;
        this.channel = channel;
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 16 * 1024);
        out.write(header);
        this.contentOffset = header.length;
    }

    public String id() {
        return id;
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        contentLength++;
        eightBit |= (b & 0x80) != 0;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        contentLength += len;
        if (!eightBit) {
            for (int i = off; i < off + len; i++) {
                if (b[i] < 0) {
                    eightBit = true;
                    break;
                }
            }
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    /** Makes the message durable (file fsync, rename, directory fsync) and returns it. */
    public SpooledMessage commit() throws IOException {
        if (closed) {
            throw new IllegalStateException("spool writer for " + id + " already closed");
        }
        closed = true;
        try {
            out.write(eightBit ? Spool.TRAILER_8BIT : Spool.TRAILER_7BIT);
            out.flush();
            long start = System.nanoTime();
            channel.force(false);
            channel.close();
            SpooledMessage published = spool.publish(id, envelope, file, contentOffset, contentLength, eightBit);
            spool.recordFsync(System.nanoTime() - start);
            return published;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /** Discards the partial message. Safe to call after a failed commit. */
    public void abort() {
        if (!closed) {
            closed = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // the file is deleted next
            }
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // removed at next start by Spool.open
        }
    }

    @Override
    public void close() {
        if (!closed) {
            abort();
        }
    }
}
