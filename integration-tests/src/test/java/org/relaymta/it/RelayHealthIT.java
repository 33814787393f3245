package org.relaymta.it;

import org.relaymta.testing.MovedClock;
import org.relaymta.testing.SmtpTestClient;
import java.time.Instant;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.core.internal.delivery.RelayHealth;
import org.subethamail.wiser.Wiser;

/**
 * Relay health: a circuit breaker per relay next hop. After relay_failure_threshold (3) failed
 * sessions in a row the hop gets no connection until its probe, mail goes to the next healthy hop
 * or waits without a connection, and a hop that recovers is used again. A moved clock stands for
 * the cool-downs.
 */
class RelayHealthIT {
    @TempDir
    Path temp;

    /**
     * A relay host that refuses service (421 at the greeting) until it is switched up, then accepts
     * mail; it counts connections and messages. One port throughout, so no rebinding races.
     */
    static final class FlakyRelay implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger messages = new AtomicInteger();
        volatile boolean up;

        FlakyRelay(int port) throws IOException {
            server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        connections.incrementAndGet();
                        s.setSoTimeout(5000);
                        serve(s);
                    } catch (IOException closed) {
                        // next
                    }
                }
            }, "flaky-relay");
            t.setDaemon(true);
            t.start();
        }

        private void serve(Socket s) throws IOException {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                    StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            if (!up) {
                out.write("421 4.3.2 Service not available\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (in.read() >= 0) {
                    // let the client close first
                }
                return;
            }
            out.write("220 flaky.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String line;
            boolean data = false;
            while ((line = in.readLine()) != null) {
                String reply;
                if (data) {
                    if (!line.equals(".")) {
                        continue;
                    }
                    data = false;
                    messages.incrementAndGet();
                    reply = "250 2.0.0 Ok";
                } else if (line.toUpperCase().startsWith("DATA")) {
                    data = true;
                    reply = "354 go ahead";
                } else if (line.toUpperCase().startsWith("QUIT")) {
                    out.write("221 2.0.0 Bye\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    return;
                } else {
                    reply = "250 Ok";
                }
                out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static String message(int i) {
        return "From: app@example.com\r\nTo: user@example.org\r\nSubject: message " + i + "\r\n\r\nhello\r\n";
    }

    private static void send(RelayHarness relay, int i) throws Exception {
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.send("app@example.com", "user@example.org", message(i))).startsWith("250");
        }
    }

    private static void awaitCount(Wiser w, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (w.getMessages().size() < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(w.getMessages()).hasSize(n);
    }

    private static void awaitMessages(FlakyRelay relay, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (relay.messages.get() < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(relay.messages.get()).isEqualTo(n);
    }

    @Test
    void anUnhealthyFirstHopIsSkippedUntilItsProbeAndUsedAgainWhenItRecovers() throws Exception {
        int p1 = RelayHarness.freePort();
        int p2 = RelayHarness.freePort();
        String hop1 = "[127.0.0.1]:" + p1;
        MovedClock clock = new MovedClock(Instant.now());
        FlakyRelay refusing = new FlakyRelay(p1);
        Wiser second = Wiser.port(p2);
        second.start();
        try (RelayHarness relay = new RelayHarness(temp)) {
            relay.clock(clock).env("DEFAULT_RELAY_HOST", hop1 + ", [127.0.0.1]:" + p2).start();
            RelayHealth health = EngineAccess.internals(relay.server.engine()).relayHealth();
            for (int i = 1; i <= 3; i++) {
                send(relay, i);
                awaitCount(second, i);
            }
            assertThat(refusing.connections.get()).isEqualTo(3);
            assertThat(health.state(hop1)).isEqualTo(RelayHealth.State.OPEN);
            assertThat(EngineAccess.internals(relay.server.engine()).metrics().registry().get("mta.relay.hop.state").tag("hop", hop1)
                    .gauge().value()).isEqualTo(2.0);
            assertThat(relay.server.health().json()).contains("\"" + hop1 + "\": \"open\"");

            // Open: the next messages go to the second hop with no connection to the first.
            for (int i = 4; i <= 6; i++) {
                send(relay, i);
                awaitCount(second, i);
            }
            assertThat(refusing.connections.get()).isEqualTo(3);

            // After the cool-down one delivery probes it; it still refuses: open again, for longer.
            clock.advance(Duration.ofSeconds(61));
            send(relay, 7);
            awaitCount(second, 7);
            assertThat(refusing.connections.get()).isEqualTo(4);
            assertThat(health.state(hop1)).isEqualTo(RelayHealth.State.OPEN);
            clock.advance(Duration.ofSeconds(61));
            send(relay, 8);
            awaitCount(second, 8);
            assertThat(refusing.connections.get()).as("the second cool-down is 2 minutes").isEqualTo(4);

            // The first hop recovers: the next probe succeeds and it is used again.
            refusing.up = true;
            clock.advance(Duration.ofSeconds(61));
            send(relay, 9);
            awaitMessages(refusing, 1);
            assertThat(health.state(hop1)).isEqualTo(RelayHealth.State.CLOSED);
            send(relay, 10);
            awaitMessages(refusing, 2);
            assertThat(second.getMessages()).hasSize(8);
        } finally {
            refusing.close();
            second.stop();
        }
    }

    @Test
    void withNoHealthyHopMailWaitsWithoutAConnection() throws Exception {
        int p1 = RelayHarness.freePort();
        String hop1 = "[127.0.0.1]:" + p1;
        MovedClock clock = new MovedClock(Instant.now());
        try (FlakyRelay refusing = new FlakyRelay(p1); RelayHarness relay = new RelayHarness(temp)) {
            Files.writeString(relay.configDir.resolve("relay-limits.cf"), "* messages=100/s\n");
            relay.clock(clock).mainCf("relay_failure_threshold = 2").env("DEFAULT_RELAY_HOST", hop1).start();
            send(relay, 1);
            assertThat(relay.nextEvent(DeliveryEvent.Status.DEFERRED, Duration.ofSeconds(20)).reason()).contains("421 4.3.2");
            // Past the 1 s backoff (and the destination's suspension) it is retried: the second failure opens the breaker.
            clock.advance(Duration.ofSeconds(2));
            assertThat(relay.nextEvent(DeliveryEvent.Status.DEFERRED, Duration.ofSeconds(20)).reason()).contains("421 4.3.2");
            assertThat(EngineAccess.internals(relay.server.engine()).relayHealth().state(hop1)).isEqualTo(RelayHealth.State.OPEN);
            clock.advance(Duration.ofSeconds(2));
            DeliveryEvent third = relay.nextEvent(DeliveryEvent.Status.DEFERRED, Duration.ofSeconds(20));
            assertThat(third.reason()).contains("relay health: next hop " + hop1 + " is unavailable");
            assertThat(third.dsn()).startsWith("4.");
            assertThat(refusing.connections.get()).isEqualTo(2);
            assertThat(relay.server.engine().queue().size()).isEqualTo(1);

            // mta route, as an operator runs it: the quota that applies and the hop's state from the running relay.
            Process route = MtaProcessIT.mta(temp, Map.of("DEFAULT_RELAY_HOST", hop1), "route", "app@example.com",
                    "--config-dir", relay.configDir.toString(), "--spool-dir", relay.spoolDir.toString())
                    .redirectErrorStream(false).start();
            String out = new String(route.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(route.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).contains("quota: * (relay-limits.cf:1)")
                    .contains("next hop " + hop1 + ": open (circuit breaker: no connection until its probe)");
        }
    }
}
