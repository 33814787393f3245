package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.relaymta.config.internal.Env;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;

/**
 * Runs a real relay (listener on a free loopback port, spool and config directory in a temp folder)
 * and records its delivery events.
 */
final class RelayHarness implements AutoCloseable {
    final Path spoolDir;
    final Path configDir;
    final Map<String, String> env = new HashMap<>();
    final LinkedBlockingQueue<DeliveryEvent> events = new LinkedBlockingQueue<>();
    private final List<String> mainCf = new ArrayList<>();
    RelayServer server;
    Clock clock = Clock.systemUTC();
    List<InetSocketAddress> dnsServers = List.of();
    int directPort = 25;

    RelayHarness(Path tempDir) throws IOException {
        this.spoolDir = tempDir.resolve("spool");
        this.configDir = tempDir.resolve("config");
        Files.createDirectories(configDir);
        // Tests must not wait minutes for a retry.
        mainCf("minimal_backoff_time = 1s");
        mainCf("maximal_backoff_time = 2s");
        mainCf("smtp_connect_timeout = 5s");
        mainCf("myhostname = relay.test");
    }

    RelayHarness env(String name, String value) {
        env.put(name, value);
        return this;
    }

    /** Direct MX delivery through a test DNS server, to {@code port} instead of 25. */
    RelayHarness dns(InetSocketAddress server, int port) {
        this.dnsServers = List.of(server);
        this.directPort = port;
        return this;
    }

    RelayHarness clock(Clock c) {
        this.clock = c;
        return this;
    }

    RelayHarness mainCf(String line) {
        mainCf.add(line);
        return this;
    }

    RelayHarness start() throws IOException {
        Files.write(configDir.resolve("postfix-main.cf"), mainCf, StandardCharsets.UTF_8);
        ServerSettings settings = new ServerSettings(new InetSocketAddress("127.0.0.1", 0), spoolDir, configDir,
                new Env(env), dnsServers, directPort, new InetSocketAddress("127.0.0.1", 0));
        server = RelayServer.start(settings, clock, events::add);
        return this;
    }

    void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    int port() {
        return server.port();
    }

    SmtpTestClient client() throws IOException {
        SmtpTestClient c = new SmtpTestClient(port());
        assertThat(c.greeting).startsWith("220");
        assertThat(c.command("EHLO client.test")).startsWith("250");
        return c;
    }

    /** Waits until the queue is empty (the upstream has a message a moment before the relay removes it). */
    void queueEmpty(Duration timeout) throws InterruptedException {
        assertThat(server.engine().queue().awaitEmpty(timeout)).as("the queue empty within " + timeout).isTrue();
    }

    /** The next delivery event, failing the test after {@code timeout}. */
    DeliveryEvent nextEvent(Duration timeout) throws InterruptedException {
        DeliveryEvent e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(e).as("a delivery event within " + timeout).isNotNull();
        return e;
    }

    /** The next event with the given status, skipping others. */
    DeliveryEvent nextEvent(DeliveryEvent.Status status, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            DeliveryEvent e = events.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
            assertThat(e).as("a " + status + " delivery event within " + timeout).isNotNull();
            if (e.status() == status) {
                return e;
            }
        }
    }

    private static final AtomicInteger NEXT_PORT =
            new AtomicInteger(20000 + (int) (ProcessHandle.current().pid() % 500) * 20);

    /**
     * A free port below the kernel's ephemeral range (32768 and up here): a port the test picks now
     * and binds later must not be taken meanwhile by an outgoing connection's local end, which
     * happened with ports the kernel handed out (BindException in a busy run).
     */
    static int freePort() throws IOException {
        for (int tries = 0; tries < 2000; tries++) {
            int port = NEXT_PORT.getAndIncrement();
            if (port >= 32000) {
                NEXT_PORT.set(20000);
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (IOException inUse) {
                // taken: the next one
            }
        }
        throw new IOException("no free port between 20000 and 32000");
    }

    @Override
    public void close() {
        stop();
    }
}
