package org.relaymta.core.internal.milter;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.internal.MilterSettings;

/**
 * One connection to a milter: packets of a 4-byte length, a command byte and data (the Sendmail
 * milter protocol). Blocking, on a worker thread; every connect, write and read is bounded by a
 * timer that closes the socket when it runs out (Unix sockets have no read timeout of their own).
 *
 * <p>What a milter sends is bounded: a packet is read into memory only up to {@link #MAX_DATA}
 * (a header, a reply); a body packet of any size is {@linkplain #transfer streamed} to where it
 * goes. Socket reads and writes move at most {@link #IO_CHUNK} bytes at a time, because the JDK
 * copies each heap buffer through a temporary direct buffer of its whole size.
 */
final class MilterConnection implements Closeable {
    /** A packet from the milter, read whole. */
    record Packet(char command, byte[] data) {
    }

    /** The start of a packet: its command and how many bytes of data follow. */
    record Head(char command, int dataLength) {
    }

    /** The largest packet data read into memory: far above a header or a reply, far below a body. */
    static final int MAX_DATA = 1 << 20;
    static final int IO_CHUNK = 64 * 1024;

    private final SocketChannel channel;
    private final ScheduledExecutorService timer;
    private volatile boolean timedOut;

    private MilterConnection(SocketChannel channel, ScheduledExecutorService timer) {
        this.channel = channel;
        this.timer = timer;
    }

    static MilterConnection open(MilterSettings.Address address, Duration timeout, ScheduledExecutorService timer)
            throws IOException {
        SocketChannel channel = address.unix() ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        MilterConnection c = new MilterConnection(channel, timer);
        c.bounded(timeout, () -> {
            channel.connect(address.unix() ? UnixDomainSocketAddress.of(address.socket())
                    : new InetSocketAddress(address.host(), address.port()));
            return null;
        }, "connect");
        return c;
    }

    private interface Io<T> {
        T run() throws IOException;
    }

    private <T> T bounded(Duration timeout, Io<T> io, String what) throws IOException {
        ScheduledFuture<?> alarm = timer.schedule(() -> {
            timedOut = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // the blocked call fails now
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return io.run();
        } catch (IOException e) {
            if (timedOut) {
                throw new IOException(what + " timed out after " + timeout.toSeconds() + "s", e);
            }
            throw e;
        } finally {
            alarm.cancel(false);
        }
    }

    void send(char command, byte[] data, Duration timeout) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(5).putInt(1 + data.length).put((byte) command).flip();
        bounded(timeout, () -> {
            while (head.hasRemaining()) {
                channel.write(head);
            }
            for (int at = 0; at < data.length; at += IO_CHUNK) {
                ByteBuffer piece = ByteBuffer.wrap(data, at, Math.min(IO_CHUNK, data.length - at));
                while (piece.hasRemaining()) {
                    channel.write(piece);
                }
            }
            return null;
        }, "sending '" + command + "'");
    }

    /** The next packet, whole; its data may be at most {@link #MAX_DATA} bytes. */
    Packet read(Duration timeout) throws IOException {
        Head head = head(timeout);
        return new Packet(head.command(), data(head, timeout));
    }

    /** The length and command of the next packet; its data is read next with {@link #data} or {@link #transfer}. */
    Head head(Duration timeout) throws IOException {
        return bounded(timeout, () -> {
            ByteBuffer b = ByteBuffer.allocate(5);
            fill(b);
            b.flip();
            int n = b.getInt();
            if (n < 1) {
                throw new IOException("bad packet length " + n + " from the milter");
            }
            return new Head((char) (b.get() & 0xff), n - 1);
        }, "waiting for the milter's reply");
    }

    /** The data of a packet whose head was read, into memory. */
    byte[] data(Head head, Duration timeout) throws IOException {
        if (head.dataLength() > MAX_DATA) {
            throw new IOException("the milter sent a '" + head.command() + "' packet of " + head.dataLength()
                    + " bytes; at most " + MAX_DATA + " are accepted");
        }
        byte[] data = new byte[head.dataLength()];
        bounded(timeout, () -> {
            for (int at = 0; at < data.length; at += IO_CHUNK) {
                fill(ByteBuffer.wrap(data, at, Math.min(IO_CHUNK, data.length - at)));
            }
            return null;
        }, "reading the milter's '" + head.command() + "'");
        return data;
    }

    /** The data of a packet whose head was read, streamed to {@code out} piece by piece, never whole in memory. */
    void transfer(Head head, OutputStream out, Duration timeout) throws IOException {
        byte[] piece = new byte[Math.min(IO_CHUNK, head.dataLength())];
        bounded(timeout, () -> {
            int left = head.dataLength();
            while (left > 0) {
                int n = Math.min(piece.length, left);
                fill(ByteBuffer.wrap(piece, 0, n));
                out.write(piece, 0, n);
                left -= n;
            }
            return null;
        }, "reading the milter's '" + head.command() + "'");
    }

    private void fill(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("the milter closed the connection");
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to keep
        }
    }
}
