package org.relaymta.test;

import jakarta.mail.Session;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.RelayEngine;

/**
 * A JUnit 5 extension that runs an embedded relay delivering to a {@link TestUpstream}, both on
 * free ports with a temporary spool, so that a test can hand mail to the relay the way the
 * application does and assert on what the smarthost received.
 *
 * <pre>{@code
 * @RegisterExtension
 * RelayMtaExtension relay = new RelayMtaExtension();
 *
 * @Test
 * void welcomeMailIsSent() throws Exception {
 *     new SignupService(relay.mailSession()).signUp("alice@example.org");
 *     CapturedMessage m = relay.awaitDelivered(1).get(0);
 *     assertEquals("alice@example.org", m.recipient());
 * }
 * }</pre>
 *
 * A {@code static} field starts one relay for the test class; an instance field, one per test.
 * {@link #configure} changes the settings (sender routes, size limit, backoff) before it starts.
 */
public final class RelayMtaExtension extends Lifecycle {
    private final TestUpstream upstream = new TestUpstream();
    private final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
    private Consumer<RelaySettings> customizer = s -> { };
    private RelayEngine engine;
    private Path spool;

    /** Applies {@code customizer} to the settings (already pointing at the upstream) before the relay starts. */
    public RelayMtaExtension configure(Consumer<RelaySettings> customizer) {
        this.customizer = customizer;
        return this;
    }

    /** Starts the upstream and the relay now (the callbacks do this); returns this. */
    public synchronized RelayMtaExtension start() {
        if (engine != null) {
            return this;
        }
        upstream.start();
        try {
            spool = Files.createTempDirectory("relay-mta-test");
            RelaySettings settings = RelaySettings.defaults().defaultRelayHost(upstream.relayHost()).hostname("relay.test")
                    .backoff(Duration.ofSeconds(1), Duration.ofSeconds(5));
            customizer.accept(settings);
            engine = RelayEngine.builder().spoolDirectory(spool).settings(settings).listener(events::add).build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the test relay: " + e.getMessage(), e);
        }
        return this;
    }

    /** The running relay: {@code submit}, {@code queue()}, {@code mailSession()}. */
    public RelayEngine engine() {
        return start().engine;
    }

    /** A Jakarta Mail session whose {@code Transport.send} queues into the relay. */
    public Session mailSession() {
        return engine().mailSession();
    }

    /** The capturing smarthost. */
    public TestUpstream upstream() {
        return upstream;
    }

    /**
     * Delivery events so far (sent, deferred, bounced, expired, held, deleted), in order: every
     * event the relay recorded before this call (listeners run on their own thread; this waits for
     * them, up to 10 s).
     */
    public List<DeliveryEvent> events() {
        try {
            engine.awaitListeners(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return List.copyOf(events);
    }

    /** Waits until {@code count} messages (recipients) reached the upstream, up to 20 s. */
    public List<CapturedMessage> awaitDelivered(int count) throws InterruptedException {
        return upstream.awaitMessages(count, Duration.ofSeconds(20));
    }

    /**
     * Waits up to 20 s for the first event of {@code recipient} with {@code status} (a bounce, a
     * deferral) and returns it; an {@link AssertionError} that lists the events seen if none came.
     */
    public DeliveryEvent awaitEvent(String recipient, DeliveryEvent.Status status) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            for (DeliveryEvent e : events()) {
                if (e.recipient().equalsIgnoreCase(recipient) && e.status() == status) {
                    return e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + status + " event for " + recipient + " in 20 s; events: "
                        + events().stream().map(DeliveryEvent::logLine).toList());
            }
            Thread.sleep(20);
        }
    }

    /** Stops the relay and the upstream and removes the spool. */
    public synchronized void stop() {
        if (engine != null) {
            engine.close(Duration.ofSeconds(2));
            engine = null;
        }
        upstream.close();
        events.clear();
        if (spool != null) {
            try (Stream<Path> files = Files.walk(spool)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory left behind loses nothing
            }
            spool = null;
        }
    }

    @Override
    void startIt() {
        start();
    }

    @Override
    void stopIt() {
        stop();
    }
}
