package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.mail.RelayTransport;
import org.relaymta.testing.ScriptedSmtpServer;
import org.subethamail.wiser.Wiser;

/** The relay as a library inside an application: submit, events, Jakarta Mail transport, close and restart. */
class EmbeddedLibraryIT {
    @TempDir
    Path temp;

    private static RelayEngine relay(Path spool, int upstreamPort, List<DeliveryEvent> events) throws Exception {
        return RelayEngine.builder()
                .spoolDirectory(spool)
                .settings(RelaySettings.defaults().defaultRelayHost("[127.0.0.1]:" + upstreamPort).hostname("app.test")
                        .backoff(Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .listener(events::add)
                .build()
                .start();
    }

    private static void awaitCount(Supplier<Integer> count, int expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (count.get() < expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertThat(count.get()).isEqualTo(expected);
    }

    @Test
    void anEmbeddedRelaySignsEventsToAWebhookAndSuppressesHardBouncesFromJavaSettings() throws Exception {
        Wiser upstream = Wiser.accepter((from, to) -> !to.startsWith("nobody@")).port(RelayHarness.freePort());
        upstream.start();
        try (WebhookReceiver receiver = WebhookReceiver.http("java-key");
             RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("hooked"))
                     .settings(RelaySettings.defaults().defaultRelayHost("[127.0.0.1]:" + upstream.getServer().getPort())
                             .hostname("app.test").eventWebhook("http://127.0.0.1:" + receiver.port() + "/e", "java-key",
                                     "delivered", "bounced", "suppressed")
                             .suppressHardBounces(true))
                     .build().start()) {
            relay.submit("app@one.test", List.of("ok@ext.test", "nobody@ext.test"),
                    "Subject: hook\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            awaitCount(() -> receiver.eventsFor("ok@ext.test").size() + receiver.eventsFor("nobody@ext.test").size(), 2);
            assertThat(receiver.badSignatures).hasValue(0);
            assertThat(receiver.eventsFor("ok@ext.test").get(0).get("event").getAsString()).isEqualTo("delivered");
            assertThat(receiver.eventsFor("nobody@ext.test").get(0).get("event").getAsString()).isEqualTo("bounced");
            assertThat(relay.suppressions().find("nobody@ext.test")).isPresent();
            relay.submit("app@one.test", List.of("nobody@ext.test"),
                    "Subject: again\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            awaitCount(() -> (int) receiver.events.stream().filter(e -> e.get("event").getAsString().equals("suppressed")).count(), 1);
        } finally {
            upstream.stop();
        }
        assertThatThrownBy(() -> RelaySettings.defaults().eventWebhook("http://hooks.example/e", "k"))
                .hasMessageContaining("in the clear");
    }

    @Test
    void twoRelaysInOneJvmKeepTheirOwnSpoolsAndUpstreams() throws Exception {
        Wiser a = Wiser.port(RelayHarness.freePort());
        Wiser b = Wiser.port(RelayHarness.freePort());
        a.start();
        b.start();
        List<DeliveryEvent> eventsA = new CopyOnWriteArrayList<>();
        List<DeliveryEvent> eventsB = new CopyOnWriteArrayList<>();
        try (RelayEngine one = relay(temp.resolve("one"), a.getServer().getPortAllocated(), eventsA);
             RelayEngine two = relay(temp.resolve("two"), b.getServer().getPortAllocated(), eventsB)) {
            String idA = one.submit("app@one.test", List.of("x@ext.test"), "Subject: A\r\n\r\na\r\n".getBytes()).get();
            String idB = two.submit("app@two.test", List.of("y@ext.test"), "Subject: B\n\nb\n".getBytes()).get();
            assertThat(idA).isNotEqualTo(idB).matches("[0-9A-F]{16}");
            awaitCount(() -> eventsA.size() + eventsB.size(), 2);
            assertThat(a.getMessages()).extracting(m -> m.getEnvelopeReceiver()).containsExactly("x@ext.test");
            assertThat(b.getMessages()).extracting(m -> m.getEnvelopeReceiver()).containsExactly("y@ext.test");
            assertThat(new String(b.getMessages().get(0).getData(), StandardCharsets.US_ASCII)).endsWith("Subject: B\r\n\r\nb\r\n");
            assertThat(eventsA.get(0).queueId()).isEqualTo(idA);
            assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .filter(n -> n.startsWith("mta-"))).isNotEmpty();
        } finally {
            a.stop();
            b.stop();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive).map(Thread::getName).filter(n -> n.startsWith("mta-")).collect(Collectors.toSet()))
                .as("threads of closed relays").isEmpty());
    }

    @Test
    void mailSubmittedWhileTheUpstreamIsDownSurvivesCloseAndIsDeliveredByTheNextInstance() throws Exception {
        int port = RelayHarness.freePort();
        List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
        RelayEngine first = relay(temp.resolve("spool"), port, events);
        String id = first.submit("app@one.test", List.of("x@ext.test"), "Subject: later\r\n\r\nx\r\n".getBytes()).get();
        awaitCount(events::size, 1);
        assertThat(events.get(0).status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(first.queue().messages()).extracting(m -> m.id()).containsExactly(id);
        first.close();
        assertThatThrownBy(() -> first.submit("a@one.test", List.of("x@ext.test"), new byte[0]).get())
                .hasCauseInstanceOf(IllegalStateException.class);

        GreenMail upstream = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        upstream.start();
        List<DeliveryEvent> events2 = new CopyOnWriteArrayList<>();
        try (RelayEngine second = relay(temp.resolve("spool"), port, events2)) {
            second.queue().flush();
            awaitCount(() -> (int) events2.stream().filter(e -> e.status() == DeliveryEvent.Status.SENT).count(), 1);
            assertThat(events2.get(events2.size() - 1).queueId()).isEqualTo(id);
            assertThat(upstream.getReceivedMessages()).hasSize(1);
        } finally {
            upstream.stop();
        }
    }

    @Test
    void jakartaMailTransportSendReturnsOnceDurableAndGreenMailGetsIt() throws Exception {
        int port = RelayHarness.freePort();
        GreenMail upstream = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        upstream.start();
        List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
        try (RelayEngine relay = relay(temp.resolve("spool"), port, events)) {
            Session session = relay.mailSession();
            assertThat(session.getTransport().getClass().getSimpleName()).isEqualTo("RelayTransport");
            MimeMessage m = new MimeMessage(session);
            m.setFrom(new InternetAddress("app@one.test"));
            m.setRecipients(Message.RecipientType.TO, "alice@ext.test, bob@ext.test");
            m.setSubject("through the transport");
            m.setText("hello");
            Transport.send(m);
            // send() returned: the message is durable in the spool (or already delivered).
            awaitCount(() -> upstream.getReceivedMessages().length, 2);
            assertThat(upstream.getReceivedMessages()[0].getSubject()).isEqualTo("through the transport");
            awaitCount(events::size, 2);
            assertThat(events).allMatch(e -> e.status() == DeliveryEvent.Status.SENT && e.sender().equals("app@one.test"));

            // A plain session with the protocol property finds the provider through the standard files.
            Properties p = new Properties();
            p.put("mail.transport.protocol", "relaymta");
            p.put("mail.relaymta.relay", relay);
            Transport t = Session.getInstance(p).getTransport();
            assertThat(t).isInstanceOf(RelayTransport.class);

            assertThatThrownBy(() -> relay.submit("app@one.test", List.of("not an address"), new byte[0]).get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("invalid recipient address 'not an address'");
        } finally {
            upstream.stop();
        }
    }

    @Test
    void eventsComeInOrderWithTheirDetails() throws Exception {
        int port = RelayHarness.freePort();
        List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
        try (RelayEngine relay = relay(temp.resolve("spool"), port, events)) {
            String id = relay.submit("app@one.test", List.of("x@ext.test"), "Subject: e\r\n\r\nx\r\n".getBytes()).get();
            awaitCount(events::size, 1);
            Wiser wiser = Wiser.port(port);
            wiser.start();
            try {
                awaitCount(events::size, 2);
            } finally {
                wiser.stop();
            }
            DeliveryEvent deferred = events.get(0);
            DeliveryEvent sent = events.get(1);
            assertThat(deferred.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(deferred.queueId()).isEqualTo(id);
            assertThat(deferred.relay()).isEqualTo("none");
            assertThat(deferred.dsn()).isEqualTo("4.4.1");
            assertThat(deferred.reason()).contains("Connection refused");
            assertThat(sent.status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(sent.recipient()).isEqualTo("x@ext.test");
            assertThat(sent.relay()).isEqualTo("127.0.0.1[127.0.0.1]:" + port);
            assertThat(sent.dsn()).isEqualTo("2.0.0");
            assertThat(sent.reason()).startsWith("250");
            assertThat(sent.delay()).isPositive();
        }
    }

    @Test
    void closeWithDeliveriesInFlightLosesNothing() throws Exception {
        int port = RelayHarness.freePort();
        // The upstream holds every transaction at RCPT until the test lets go: deliveries are in flight at close.
        AtomicInteger atRcpt = new AtomicInteger();
        CountDownLatch letGo = new CountDownLatch(1);
        Wiser held = Wiser.accepter((from, to) -> {
            atRcpt.incrementAndGet();
            try {
                letGo.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }).port(port);
        held.start();
        try {
            RelayEngine relay = relay(temp.resolve("spool"), port, new CopyOnWriteArrayList<>());
            for (int i = 0; i < 20; i++) {
                relay.submit("app@one.test", List.of("r" + i + "@ext.test"), ("Subject: m" + i + "\r\n\r\nx\r\n").getBytes()).get();
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> atRcpt.get() >= 5);
            int inFlight = atRcpt.get();
            relay.close(Duration.ofMillis(100));
            assertThat(held.getMessages()).as("nothing got through the held upstream").isEmpty();
            letGo.countDown();

            RelayEngine again = relay(temp.resolve("spool"), port, new CopyOnWriteArrayList<>());
            try {
                again.queue().flush();
                assertThat(again.queue().awaitEmpty(Duration.ofSeconds(30))).as("the restarted relay delivers it all").isTrue();
                List<String> subjects = new ArrayList<>();
                for (var m : List.copyOf(held.getMessages())) {
                    subjects.add(m.getMimeMessage().getSubject());
                }
                assertThat(subjects).as("every message once, the %d in flight at close included", inFlight)
                        .hasSize(20).doesNotHaveDuplicates();
            } finally {
                again.close();
            }
        } finally {
            held.stop();
        }
    }

    static void sleep(long ms) throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(ms);
    }

    @Test
    void closeSaysQuitToTheCachedUpstreamSession() throws Exception {
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0,
                () -> "250 2.1.5 ok", "PIPELINING", "8BITMIME")) {
            List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
            RelayEngine engine = relay(temp.resolve("spool"), upstream.port(), events);
            engine.submit("app@one.test", List.of("x@ext.test"), "Subject: cached\r\n\r\nx\r\n".getBytes()).get();
            awaitCount(events::size, 1);
            assertThat(upstream.received).as("the session is cached, not ended").doesNotContain("QUIT");
            engine.close();
            awaitCount(() -> upstream.received.contains("QUIT") ? 1 : 0, 1);
        }
    }
}
