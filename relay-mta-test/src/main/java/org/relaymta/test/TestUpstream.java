package org.relaymta.test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
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
public final class TestUpstream implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback,
        AutoCloseable {
    private Wiser wiser;
    private boolean perClass;

    /** Starts it now (also done by the extension callbacks); returns this. */
    public synchronized TestUpstream start() {
        if (wiser == null) {
            Wiser w = Wiser.port(freePort());
            w.start();
            wiser = w;
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
    public void beforeAll(ExtensionContext context) {
        perClass = true;
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        start();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!perClass) {
            close();
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on loopback", e);
        }
    }
}
