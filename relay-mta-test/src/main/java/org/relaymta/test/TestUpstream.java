package org.relaymta.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.subethamail.wiser.Wiser;

/**
 * A capturing SMTP server (SubEthaSMTP's Wiser) on a free loopback port, standing for the
 * smarthost in an application's tests. As a JUnit 5 extension it starts before the tests and stops
 * after them ({@code static} field: once per class; instance field: per test).
 *
 * <pre>{@code
 * @RegisterExtension
 * static TestUpstream upstream = new TestUpstream();
 *
 * @DynamicPropertySource   // Spring Boot: point the relay at it
 * static void relay(DynamicPropertyRegistry r) {
 *     r.add("relaymta.default-relay-host", upstream::relayHost);
 * }
 * }</pre>
 */
public final class TestUpstream extends Lifecycle implements AutoCloseable {
    private Wiser wiser;

    /** Starts it now (also done by the extension callbacks); returns this. */
    public synchronized TestUpstream start() {
        for (int attempt = 1; wiser == null; attempt++) {
            Wiser w = Wiser.port(freePort());
            try {
                w.start();
                wiser = w;
            } catch (RuntimeException e) {
                // Another process took the port between the probe and the bind: take another one.
                if (attempt >= 20 || !(e.getCause() instanceof BindException || e instanceof UncheckedIOException)) {
                    throw e;
                }
            }
        }
        return this;
    }

    /** The port it listens on, on 127.0.0.1. */
    public synchronized int port() {
        start();
        return wiser.getServer().getPortAllocated();
    }

    /** The next hop to give the relay, in Postfix form: {@code [127.0.0.1]:PORT}. */
    public String relayHost() {
        return "[127.0.0.1]:" + port();
    }

    /** What it has received so far, one entry per recipient, in order of arrival. */
    public synchronized List<CapturedMessage> messages() {
        if (wiser == null) {
            return List.of();
        }
        return wiser.getMessages().stream()
                .map(m -> new CapturedMessage(m.getEnvelopeSender(), m.getEnvelopeReceiver(), m.getData()))
                .toList();
    }

    /**
     * Waits until at least {@code count} messages (recipients) arrived and returns them all;
     * throws {@link AssertionError} naming what did arrive when {@code timeout} passes first.
     */
    public List<CapturedMessage> awaitMessages(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<CapturedMessage> now = messages();
            if (now.size() >= count) {
                return now;
            }
            if (System.nanoTime() >= deadline) {
                throw new AssertionError("expected " + count + " message(s) at the upstream within " + timeout + ", got "
                        + now.size() + ": " + now.stream().map(m -> m.recipient() + " '" + m.subject() + "'").toList());
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    /** Forgets what it received. */
    public synchronized void clear() {
        if (wiser != null) {
            wiser.getMessages().clear();
        }
    }

    @Override
    public synchronized void close() {
        if (wiser != null) {
            wiser.stop();
            wiser = null;
        }
    }

    @Override
    void startIt() {
        start();
    }

    @Override
    void stopIt() {
        close();
    }

    /**
     * A port that is free now, from 20000-32000: below Linux's ephemeral range (32768-60999), so
     * that the relay's own outgoing connections (and their TIME_WAIT) never hold it.
     */
    public static int freePort() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 200; i++) {
            int port = 20000 + random.nextInt(12000);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port on loopback between 20000 and 32000"));
    }
}
