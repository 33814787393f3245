package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestCertificates;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/** The first complete path of a message: SMTP in, durable spool, delivery to a real upstream. */
class FoundationRelayIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String USER = "relayuser";
    private static final String PASSWORD = "s3cr:et-pa55";

    @TempDir
    Path temp;

    /** A GreenMail upstream on implicit TLS (SMTPS) that knows USER / PASSWORD. */
    private static GreenMail greenMailSmtps(int port) {
        GreenMail greenMail = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS));
        greenMail.setUser(USER, USER, PASSWORD);
        greenMail.start();
        return greenMail;
    }

    /** A relay sending through the upstream on {@code port} in wrapper mode, as USER with {@code password}. */
    private RelayHarness relayWithCredentials(int port, String password) throws IOException {
        return new RelayHarness(temp)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port)
                .env("RELAY_USER", USER)
                .env("RELAY_PASSWORD", password)
                .mainCf("smtp_tls_wrappermode = yes")
                .start();
    }

    @Test
    void deliversThroughGreenMailWithAuthOverImplicitTls() throws Exception {
        int port = RelayHarness.freePort();
        GreenMail greenMail = greenMailSmtps(port);
        try (RelayHarness relay = relayWithCredentials(port, PASSWORD);
             SmtpTestClient client = relay.client()) {
            assertThat(relay.server.config().routing().tlsLevel().postfixName()).isEqualTo("encrypt");
            assertThat(client.command("MAIL FROM:<alice@one.test>")).startsWith("250");
            assertThat(client.command("RCPT TO:<bob@ext.test>")).startsWith("250");
            assertThat(client.command("RCPT TO:<carol@ext.test>")).startsWith("250");
            // The client dot-stuffs ".dotted line"; the relay unstuffs it and stuffs it again outbound.
            String reply = client.data(("Subject: greetings\r\nFrom: alice@one.test\r\n\r\nHello Bob\r\n..dotted line\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            assertThat(reply).matches("250 2\\.0\\.0 Ok: queued as [0-9A-F]{16}");

            DeliveryEvent first = relay.nextEvent(WAIT);
            DeliveryEvent second = relay.nextEvent(WAIT);
            assertThat(List.of(first.status(), second.status())).containsOnly(DeliveryEvent.Status.SENT);
            assertThat(List.of(first.recipient(), second.recipient())).containsExactlyInAnyOrder("bob@ext.test", "carol@ext.test");
            assertThat(first.relay()).isEqualTo("127.0.0.1[127.0.0.1]:" + port);
            assertThat(first.tls()).startsWith("TLSv1.");
            assertThat(first.logLine()).contains("status=sent", "dsn=2.0.0", "to=<" + first.recipient() + ">");
            assertThat(relay.server.scrapeMetrics()).containsPattern(
                    "mta_smtp_tls_sessions_total\\{cipher=\"TLS_[A-Z0-9_]+\",direction=\"out\",protocol=\"TLSv1\\.[23]\"\\} 1\\.0");
            assertThat(relay.server.scrapeMetrics()).contains("mta_smtp_sessions_total{direction=\"out\",result=\"ok\"} 1.0");

            assertThat(greenMail.waitForIncomingEmail(5000, 2)).isTrue();
            MimeMessage[] received = greenMail.getReceivedMessages();
            assertThat(received).hasSize(2);
            List<String> to = Arrays.stream(received).map(m -> {
                try {
                    return m.getHeader("Return-Path")[0] + " " + String.join(",", m.getHeader("Subject"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
            assertThat(to).containsOnly("<alice@one.test> greetings");
            String body = new String(received[0].getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            // GreenMail's store drops the final line end; byte-exactness is checked against Wiser below.
            assertThat(body.stripTrailing()).isEqualTo("Hello Bob\r\n.dotted line");
            assertThat(relay.server.engine().queue().size()).isZero();
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void rejectedAuthIsDeferredWithTheServersReplyNotBounced() throws Exception {
        int port = RelayHarness.freePort();
        GreenMail greenMail = greenMailSmtps(port);
        try (RelayHarness relay = relayWithCredentials(port, "wrong-password");
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: x\r\n\r\nbody\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).startsWith("4.7.");
            assertThat(e.reason()).contains("SASL authentication failed", "535");
            assertThat(e.logLine()).doesNotContain("wrong-password");
            assertThat(greenMail.getReceivedMessages()).isEmpty();
            assertThat(relay.server.engine().queue().size()).isEqualTo(1);
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void deliversToAStartTlsUpstreamThatRequiresTlsAndAuth() throws Exception {
        int port = RelayHarness.freePort();
        SSLContext tls = TestCertificates.selfSignedServerContext("localhost");
        List<String> logins = new CopyOnWriteArrayList<>();
        Wiser wiser = Wiser.create(SMTPServer.port(port)
                .bindAddress(InetAddress.getLoopbackAddress())
                .hostName("upstream.test")
                .startTlsSocketFactory(tls)
                .requireTLS()
                .authenticationHandlerFactory(new EasyAuthenticationHandlerFactory((user, password, ctx) -> {
                    if (!USER.equals(user) || !PASSWORD.equals(password)) {
                        throw new LoginFailedException();
                    }
                    logins.add(user);
                })));
        wiser.start();
        try (RelayHarness relay = new RelayHarness(temp)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port)
                .env("RELAY_USER", USER)
                .env("RELAY_PASSWORD", PASSWORD)
                .start();
             SmtpTestClient client = relay.client()) {
            // Bare LF line ends and a lone dot line: normalised to CRLF, never an end of data downstream.
            byte[] content = "Subject: tls\r\n\r\nline one\nline two\n.\nafter the dot\r\n".getBytes(StandardCharsets.UTF_8);
            assertThat(client.command("MAIL FROM:<alice@one.test>")).startsWith("250");
            assertThat(client.command("RCPT TO:<bob@ext.test>")).startsWith("250");
            assertThat(client.data(content)).startsWith("250 2.0.0 Ok: queued as ");

            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tls()).startsWith("TLSv1.");
            assertThat(logins).containsExactly(USER);
            assertThat(wiser.getMessages()).hasSize(1);
            WiserMessage m = wiser.getMessages().get(0);
            assertThat(m.getEnvelopeSender()).isEqualTo("alice@one.test");
            assertThat(m.getEnvelopeReceiver()).isEqualTo("bob@ext.test");
            String data = new String(m.getData(), StandardCharsets.UTF_8);
            assertThat(data).startsWith("Received: ");
            assertThat(data).containsPattern("Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\r\n"
                    + "\tby relay\\.test \\(Relay MTA\\) with ESMTP id [0-9A-F]{16}\r\n\tfor <bob@ext\\.test>; ");
            assertThat(data).endsWith("Subject: tls\r\n\r\nline one\r\nline two\r\n.\r\nafter the dot\r\n");
        } finally {
            wiser.stop();
        }
    }

    @Test
    void credentialsWithoutStartTlsOnTheUpstreamSendNothingAndDefer474() throws Exception {
        try (ScriptedSmtpServer upstream = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase();
                if (cmd.startsWith("EHLO")) {
                    return "250-scripted.test\n250-AUTH PLAIN LOGIN\n250 8BITMIME";
                }
                if (cmd.startsWith("QUIT")) {
                    return "221 bye";
                }
                return "250 ok";
            });
             RelayHarness relay = new RelayHarness(temp)
                     .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())
                     .env("RELAY_USER", USER)
                     .env("RELAY_PASSWORD", PASSWORD)
                     .start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: x\r\n\r\nbody\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.4");
            assertThat(e.logLine()).contains("dsn=4.7.4", "status=deferred",
                    "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]");
            assertThat(upstream.received).isNotEmpty();
            assertThat(upstream.received).noneMatch(l -> l.toUpperCase().startsWith("MAIL")
                    || l.toUpperCase().startsWith("AUTH") || l.toUpperCase().startsWith("RCPT"));
            assertThat(relay.server.engine().queue().size()).isEqualTo(1);
        }
    }

    @Test
    void clientOutsideMynetworksGetsRelayAccessDenied() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .env("MTA_MYNETWORKS", "192.0.2.0/24, [2001:db8::]/32")
                .start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.command("MAIL FROM:<alice@one.test>")).startsWith("250");
            assertThat(client.command("RCPT TO:<bob@ext.test>")).isEqualTo("554 5.7.1 <bob@ext.test>: Relay access denied");
            assertThat(client.command("RCPT TO:<carol@one.test>")).startsWith("554 5.7.1");
            assertThat(client.command("DATA")).startsWith("503");
        }
    }

    @Test
    void mailAcceptedWhileUpstreamIsDownArrivesExactlyOnceAfterARestart() throws Exception {
        int port = RelayHarness.freePort();
        RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start();
        String reply;
        try (SmtpTestClient client = relay.client()) {
            reply = client.send("alice@one.test", "bob@ext.test", "Subject: durable\r\n\r\nkeep me\r\n");
        }
        assertThat(reply).startsWith("250");
        String queueId = reply.substring(reply.lastIndexOf(' ') + 1);
        DeliveryEvent deferred = relay.nextEvent(WAIT);
        assertThat(deferred.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
        assertThat(deferred.logLine()).contains(queueId + ": to=<bob@ext.test>, relay=none", "Connection refused");
        relay.stop();

        GreenMail greenMail = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
        try {
            RelayHarness restarted = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start();
            try {
                assertThat(restarted.server.engine().queue().size()).isEqualTo(1);
                DeliveryEvent sent = restarted.nextEvent(DeliveryEvent.Status.SENT, WAIT);
                assertThat(sent.queueId()).isEqualTo(queueId);
                assertThat(greenMail.waitForIncomingEmail(5000, 1)).isTrue();
                // Once the queue is empty no attempt is left that could deliver a duplicate.
                assertThat(restarted.server.engine().queue().awaitEmpty(WAIT)).isTrue();
                assertThat(greenMail.getReceivedMessages()).hasSize(1);
                assertThat(greenMail.getReceivedMessages()[0].getSubject()).isEqualTo("durable");
                assertThat(restarted.server.engine().queue().size()).isZero();
            } finally {
                restarted.stop();
            }
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void oversizeMessageIsRejected552AndTheSessionStaysUsable() throws Exception {
        int port = RelayHarness.freePort();
        GreenMail greenMail = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
        try (RelayHarness relay = new RelayHarness(temp)
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port)
                .mainCf("message_size_limit = 10000")
                .start();
             SmtpTestClient client = relay.client()) {
            String big = "Subject: big\r\n\r\n" + "0123456789012345678901234567890123456789\r\n".repeat(600);
            assertThat(client.send("alice@one.test", "bob@ext.test", big)).startsWith("552 5.3.4");
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: small\r\n\r\nfits\r\n"))
                    .startsWith("250 2.0.0 Ok: queued as ");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(greenMail.waitForIncomingEmail(5000, 1)).isTrue();
            assertThat(greenMail.getReceivedMessages()).hasSize(1);
            assertThat(greenMail.getReceivedMessages()[0].getSubject()).isEqualTo("small");
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void smugglingSequencesNeverEndTheMessageDownstream() throws Exception {
        int port = RelayHarness.freePort();
        Wiser wiser = Wiser.port(port);
        wiser.start();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start();
             SmtpTestClient client = relay.client()) {
            String smuggled = "Subject: outer\r\n\r\nbefore\n.\nMAIL FROM:<evil@x.test>\nRCPT TO:<victim@ext.test>\nDATA\n"
                    + "Subject: smuggled\n\nbad\n.\r\nafter\r\n";
            assertThat(client.send("alice@one.test", "bob@ext.test", smuggled)).startsWith("250");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            // A smuggled second message would follow on the same session: stopping the relay ends it with QUIT.
            relay.stop();
            assertThat(wiser.getMessages()).hasSize(1);
            WiserMessage m = wiser.getMessages().get(0);
            assertThat(m.getEnvelopeReceiver()).isEqualTo("bob@ext.test");
            String data = new String(m.getData(), StandardCharsets.UTF_8);
            assertThat(data).contains("before\r\n.\r\nMAIL FROM:<evil@x.test>\r\n", "bad\r\n.\r\nafter\r\n");
            assertThat(data).doesNotContain("\n.\n").doesNotContainPattern("[^\r]\n");
        } finally {
            wiser.stop();
        }
    }


}
