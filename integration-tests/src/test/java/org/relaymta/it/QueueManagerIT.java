package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import jakarta.mail.BodyPart;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.QueuedMessage;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/** Retries, backoff, expiry, bounces and operator controls, with time moved by a clock instead of sleeps. */
class QueueManagerIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    @Test
    void deferredMailIsRetriedAfterPostfixBackoffNotBefore() throws Exception {
        AtomicInteger rcpts = new AtomicInteger();
        MovedClock clock = new MovedClock(Instant.now());
        try (ScriptedSmtpServer server = dataAwareUpstream(() -> rcpts.incrementAndGet() == 1
                ? "451 4.3.0 try again later" : "250 2.1.5 ok");
             RelayHarness relay = new RelayHarness(temp).clock(clock)
                     .mainCf("minimal_backoff_time = 300s").mainCf("maximal_backoff_time = 4000s")
                     .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + server.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: retry\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent deferred = relay.nextEvent(WAIT);
            assertThat(deferred.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(deferred.dsn()).isEqualTo("4.3.0");
            assertThat(deferred.reason()).contains("said: 451 4.3.0 try again later (in reply to RCPT TO command)");

            QueuedMessage queued = relay.server.engine().queue().messages().get(0);
            assertThat(queued.state()).isEqualTo(QueueState.DEFERRED);
            assertThat(Duration.between(queued.arrival(), queued.nextAttempt())).isEqualTo(Duration.ofSeconds(300));
            assertThat(queued.recipients().get(0).lastReason()).contains("451 4.3.0");

            clock.advance(Duration.ofSeconds(299));
            relay.server.engine().queue().runDue();
            assertThat(relay.events.poll(700, TimeUnit.MILLISECONDS)).as("no attempt before the backoff").isNull();

            clock.advance(Duration.ofSeconds(2));
            relay.server.engine().queue().runDue();
            DeliveryEvent sent = relay.nextEvent(WAIT);
            assertThat(sent.status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(relay.server.engine().queue().size()).isZero();
        }
    }

    /** A scripted upstream whose RCPT reply comes from {@code rcpt} and that accepts DATA. */
    private static ScriptedSmtpServer dataAwareUpstream(Supplier<String> rcpt) throws Exception {
        return ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, rcpt, "8BITMIME");
    }

    @Test
    void permanentFailureBouncesAnRfc3464ReportToTheSender() throws Exception {
        int wiserPort = RelayHarness.freePort();
        Wiser bounces = Wiser.port(wiserPort);
        bounces.start();
        try (ScriptedSmtpServer server = dataAwareUpstream(() -> "550 5.1.1 <bob@ext.test>: Recipient address rejected");
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + server.port())) {
            // Bounces (null sender) go to a separate upstream, through the relay map's <> key.
            Files.write(relay.configDir.resolve("postfix-relaymap.cf"), List.of("<> [127.0.0.1]:" + wiserPort));
            relay.start();
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("alice@one.test", "bob@ext.test",
                        "Subject: doomed\r\nMessage-ID: <m1@one.test>\r\n\r\nbody\r\n")).startsWith("250");
            }
            DeliveryEvent bounced = relay.nextEvent(WAIT);
            assertThat(bounced.status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(bounced.dsn()).isEqualTo("5.1.1");
            DeliveryEvent dsnSent = relay.nextEvent(WAIT);
            assertThat(dsnSent.status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(dsnSent.sender()).isEmpty();
            assertThat(dsnSent.recipient()).isEqualTo("alice@one.test");

            assertThat(bounces.getMessages()).hasSize(1);
            WiserMessage w = bounces.getMessages().get(0);
            assertThat(w.getEnvelopeReceiver()).isEqualTo("alice@one.test");
            String report = deliveryStatus(w, "5.1.1");
            assertThat(report).contains("Reporting-MTA: dns; relay.test", "Arrival-Date: ",
                    "Final-Recipient: rfc822; bob@ext.test", "Action: failed", "Status: 5.1.1",
                    "Remote-MTA: dns; 127.0.0.1",
                    "Diagnostic-Code: smtp; 550 5.1.1 <bob@ext.test>: Recipient address rejected");
            assertThat(relay.server.engine().queue().size()).isZero();
        } finally {
            bounces.stop();
        }
    }

    /** Parses the DSN as RFC 3464 and returns its message/delivery-status part. */
    private static String deliveryStatus(WiserMessage w, String expectedStatus) throws Exception {
        MimeMessage m = w.getMimeMessage();
        assertThat(m.getContentType()).startsWith("multipart/report").contains("report-type=delivery-status");
        assertThat(((InternetAddress) m.getFrom()[0]).getAddress()).isEqualTo("MAILER-DAEMON@relay.test");
        MimeMultipart parts = (MimeMultipart) m.getContent();
        assertThat(parts.getCount()).isEqualTo(3);
        assertThat(parts.getBodyPart(0).getContentType()).startsWith("text/plain");
        BodyPart status = parts.getBodyPart(1);
        assertThat(status.getContentType()).startsWith("message/delivery-status");
        BodyPart returned = parts.getBodyPart(2);
        String original;
        if (m.getSubject().startsWith("Delayed Mail")) {
            // A delay warning returns the headers only, as Postfix does.
            assertThat(returned.getContentType()).startsWith("text/rfc822-headers");
            try (InputStream in = returned.getInputStream()) {
                original = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertThat(original).contains("Message-ID: <m1@one.test>").doesNotContain("body");
        } else {
            // A bounce returns the whole message (under bounce_size_limit) as message/rfc822.
            assertThat(returned.getContentType()).startsWith("message/rfc822");
            MimeMessage attached = (MimeMessage) returned.getContent();
            assertThat(attached.getMessageID()).isEqualTo("<m1@one.test>");
            assertThat(attached.getContent().toString()).contains("body");
        }
        try (InputStream in = status.getInputStream()) {
            String report = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertThat(report).contains("Status: " + expectedStatus);
            return report;
        }
    }

    @Test
    void mailThatCannotBeDeliveredExpiresAfterTheQueueLifetimeAndIsReturned() throws Exception {
        int wiserPort = RelayHarness.freePort();
        Wiser bounces = Wiser.port(wiserPort);
        bounces.start();
        MovedClock clock = new MovedClock(Instant.now());
        try (RelayHarness relay = new RelayHarness(temp).clock(clock)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .mainCf("minimal_backoff_time = 300s").mainCf("maximal_backoff_time = 4000s")) {
            Files.write(relay.configDir.resolve("postfix-relaymap.cf"), List.of("<> [127.0.0.1]:" + wiserPort));
            relay.start();
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("alice@one.test", "bob@ext.test",
                        "Subject: expiring\r\nMessage-ID: <m1@one.test>\r\n\r\nbody\r\n")).startsWith("250");
            }
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.DEFERRED);

            clock.advance(Duration.ofDays(5).plusSeconds(1));
            relay.server.engine().queue().runDue();
            assertThat(relay.nextEvent(DeliveryEvent.Status.EXPIRED, WAIT).recipient()).isEqualTo("bob@ext.test");
            DeliveryEvent dsnSent = relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
            assertThat(dsnSent.recipient()).isEqualTo("alice@one.test");
            String report = deliveryStatus(bounces.getMessages().get(0), "4.4.1");
            assertThat(report).contains("Action: failed", "Final-Recipient: rfc822; bob@ext.test",
                    "Diagnostic-Code: X-Postfix; message expired after 5d");
            assertThat(relay.server.engine().queue().size()).isZero();
        } finally {
            bounces.stop();
        }
    }

    @Test
    void aDelayWarningIsSentOnceWhenDelayWarningTimeIsSet() throws Exception {
        int wiserPort = RelayHarness.freePort();
        Wiser notices = Wiser.port(wiserPort);
        notices.start();
        MovedClock clock = new MovedClock(Instant.now());
        try (RelayHarness relay = new RelayHarness(temp).clock(clock)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .mainCf("minimal_backoff_time = 300s").mainCf("maximal_backoff_time = 4000s")
                .mainCf("delay_warning_time = 4h")) {
            Files.write(relay.configDir.resolve("postfix-relaymap.cf"), List.of("<> [127.0.0.1]:" + wiserPort));
            relay.start();
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("alice@one.test", "bob@ext.test",
                        "Subject: slow\r\nMessage-ID: <m1@one.test>\r\n\r\nbody\r\n")).startsWith("250");
            }
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            clock.advance(Duration.ofHours(4).plusSeconds(1));
            relay.server.engine().queue().runDue();
            DeliveryEvent warning = relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
            assertThat(warning.recipient()).isEqualTo("alice@one.test");
            String report = deliveryStatus(notices.getMessages().get(0), "4.4.1");
            assertThat(report).contains("Action: delayed", "Final-Recipient: rfc822; bob@ext.test");
            assertThat(notices.getMessages().get(0).getMimeMessage().getSubject()).startsWith("Delayed Mail");
            // Still queued, and warned only once.
            clock.advance(Duration.ofHours(2));
            relay.server.engine().queue().runDue();
            assertThat(relay.nextEvent(DeliveryEvent.Status.DEFERRED, WAIT).recipient()).isEqualTo("bob@ext.test");
            // A second warning would be queued by that attempt and sent at once: the count stays 1.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> notices.getMessages().size() == 1);
            assertThat(relay.server.engine().queue().messages()).hasSize(1);
        } finally {
            notices.stop();
        }
    }

    @Test
    void aBounceOfANullSenderMessageIsNeverSent() throws Exception {
        try (ScriptedSmtpServer server = dataAwareUpstream(() -> "550 5.1.1 no such user");
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + server.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("", "bob@ext.test", "Subject: a bounce\r\n\r\nx\r\n")).startsWith("250");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(relay.events.poll(1, TimeUnit.SECONDS)).isNull();
            assertThat(relay.server.engine().queue().size()).isZero();
            assertThat(server.received.stream().filter(l -> l.toUpperCase().startsWith("MAIL FROM"))).hasSize(1);
        }
    }

    @Test
    void operatorsListHoldReleaseAndDeleteThroughTheAdminEndpointAndTheCli() throws Exception {
        int upstreamPort = RelayHarness.freePort();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort)
                .mainCf("minimal_backoff_time = 300s").mainCf("maximal_backoff_time = 4000s").start();
             SmtpTestClient client = relay.client()) {
            String r1 = client.send("alice@one.test", "bob@ext.test", "Subject: one\r\n\r\nx\r\n");
            String r2 = client.send("alice@one.test", "carol@ext.test", "Subject: two\r\n\r\ny\r\n");
            String id1 = r1.substring(r1.lastIndexOf(' ') + 1);
            String id2 = r2.substring(r2.lastIndexOf(' ') + 1);
            relay.nextEvent(WAIT);
            relay.nextEvent(WAIT);
            String admin = "http://127.0.0.1:" + relay.server.adminPort();
            HttpClient http = HttpClient.newHttpClient();
            String token = adminToken(relay);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(admin + "/queue")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).as("no token: no queue").isEqualTo(401);

            String listing = http.send(HttpRequest.newBuilder(URI.create(admin + "/queue")).header("Authorization", "Bearer " + token)
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            List<String> lines = listing.lines().toList();
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0)).startsWith("{\"queue_name\": \"deferred\", \"queue_id\": \"" + id1 + "\", \"arrival_time\": ")
                    .contains("\"forced_expire\": false, \"sender\": \"alice@one.test\", \"recipients\": "
                            + "[{\"address\": \"bob@ext.test\", \"delay_reason\": \"connect to 127.0.0.1[127.0.0.1]:"
                            + upstreamPort + ": Connection refused\"}]}");

            MtaProcessIT.Result cliList = runCli(relay, "queue", "list", "--json", "--admin", "127.0.0.1:" + relay.server.adminPort(),
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(cliList.stdout()).isEqualTo(listing);

            assertThat(post(http, token, admin + "/queue/" + id1 + "/hold")).isEqualTo("{\"action\": \"hold\", \"count\": 1, \"done\": [\""
                    + id1 + "\"], \"in_delivery\": [], \"not_found\": []}\n");
            assertThat(relay.server.engine().queue().message(id1).orElseThrow().state()).isEqualTo(QueueState.HOLD);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(admin + "/queue?format=table"))
                    .header("Authorization", "Bearer " + token).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).contains(id1 + "!", "-- 1 Kbytes in 2 Requests.");
            assertThat(post(http, token, admin + "/queue/" + id1 + "/release")).contains("\"count\": 1, \"done\": [\"" + id1 + "\"]");
            assertThat(post(http, token, admin + "/queue/" + id2 + "/delete")).contains("\"count\": 1, \"done\": [\"" + id2 + "\"]");
            assertThat(post(http, token, admin + "/queue/" + id2 + "/delete")).as("a second delete finds nothing")
                    .contains("\"count\": 0", "\"not_found\": [\"" + id2 + "\"]");
            MtaProcessIT.Result gone = runCli(relay, "queue", "show", id2, "--admin", "127.0.0.1:" + relay.server.adminPort(),
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(gone.exit()).as("show of a message that is gone").isEqualTo(1);
            MtaProcessIT.Result notQueued = runCli(relay, "queue", "hold", id2, "--admin", "127.0.0.1:" + relay.server.adminPort(),
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(notQueued.exit()).as("hold of an id that is not queued").isEqualTo(1);
            assertThat(relay.server.engine().queue().message(id2)).isEmpty();
            String show = http.send(HttpRequest.newBuilder(URI.create(admin + "/queue/" + id1))
                    .header("Authorization", "Bearer " + token).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(show).contains("queue_id: " + id1, "recipient: bob@ext.test status=pending", "Subject: one");

            // Offline: with the relay stopped, the CLI works on the spool directory.
            relay.stop();
            MtaProcessIT.Result offline = runCli(relay, "queue", "list", "--json", "--admin", "127.0.0.1:1",
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(offline.stdout()).contains("\"queue_id\": \"" + id1 + "\"").doesNotContain(id2);
            MtaProcessIT.Result hold = runCli(relay, "queue", "hold", "ALL", "--admin", "127.0.0.1:1",
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(hold.stdout()).startsWith("{\"action\": \"hold\", \"count\": 1, \"done\": [\"" + id1 + "\"]");
            assertThat(hold.exit()).isZero();
            relay.start();
            assertThat(relay.server.engine().queue().message(id1).orElseThrow().state()).isEqualTo(QueueState.HOLD);
        }
    }

    @Test
    void holdAllWhileDeliveriesRunAndReleaseAllDeliversEveryMessageExactlyOnce() throws Exception {
        // A slow upstream (one session at a time, 100 ms per recipient), so holds meet deliveries in flight.
        Map<String, AtomicInteger> rcptCounts = new ConcurrentHashMap<>();
        try (ScriptedSmtpServer server = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase(Locale.ROOT);
                if (cmd.startsWith("EHLO") || cmd.startsWith("HELO")) {
                    return "250-scripted.test\n250 8BITMIME";
                }
                if (cmd.startsWith("RCPT")) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return "250 2.1.5 ok";
                }
                return cmd.equals("DATA") ? "354 go ahead" : cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + server.port())
                     .mainCf("smtp_connection_cache_time_limit = 0s").start();
             SmtpTestClient client = relay.client()) {
            int n = 8;
            for (int i = 0; i < n; i++) {
                assertThat(client.send("alice@one.test", "r" + i + "@ext.test", "Subject: " + i + "\r\n\r\nx\r\n"))
                        .startsWith("250");
            }
            var queue = relay.server.engine().queue();
            var held = queue.hold("ALL");
            assertThat(held.inDelivery()).as("some deliveries were in flight at the hold").isNotEmpty();
            var released = queue.release("ALL");
            assertThat(queue.awaitEmpty(Duration.ofSeconds(30))).isTrue();
            for (String line : server.received) {
                if (line.toUpperCase(Locale.ROOT).startsWith("RCPT TO:")) {
                    rcptCounts.computeIfAbsent(line.substring(8), k -> new AtomicInteger()).incrementAndGet();
                }
            }
            assertThat(rcptCounts).hasSize(n);
            assertThat(rcptCounts.values()).allSatisfy(c -> assertThat(c.get()).as("each recipient sent once").isEqualTo(1));
            assertThat(released.count() + held.inDelivery().size()).isGreaterThan(0);
        }
    }

    private static String post(HttpClient http, String token, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    static String adminToken(RelayHarness relay) throws IOException {
        return Files.readString(relay.spoolDir.resolve("admin.token")).strip();
    }

    private MtaProcessIT.Result runCli(RelayHarness relay, String... args) throws Exception {
        Process p = MtaProcessIT.mta(temp, Map.of(), args).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return new MtaProcessIT.Result(p.exitValue(), out);
    }

}
