package org.relaymta.core.internal.milter;

import java.io.Closeable;
import java.io.IOException;
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
 */
final class MilterConnection implements Closeable {
    /** A packet from the milter. */
    record Packet(char command, byte[] data) {
    }

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
        ByteBuffer packet = ByteBuffer.allocate(5 + data.length);
        packet.putInt(1 + data.length).put((byte) command).put(data).flip();
        bounded(timeout, () -> {
            while (packet.hasRemaining()) {
                channel.write(packet);
            }
            return null;
        }, "sending '" + command + "'");
    }

    Packet read(Duration timeout) throws IOException {
        return bounded(timeout, () -> {
            ByteBuffer length = ByteBuffer.allocate(4);
            fill(length);
            int n = length.flip().getInt();
            if (n < 1 || n > 16 * 1024 * 1024) {
                throw new IOException("bad packet length " + n + " from the milter");
            }
            ByteBuffer body = ByteBuffer.allocate(n);
            fill(body);
            body.flip();
            char command = (char) (body.get() & 0xff);
            byte[] data = new byte[n - 1];
            body.get(data);
            return new Packet(command, data);
        }, "waiting for the milter's reply");
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
