package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.Env;
import org.relaymta.core.SubmitOption;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;
import org.relaymta.testing.StsPolicyServer;
import org.relaymta.testing.TestCertificates;
import org.relaymta.testing.TestDnsServer;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * REQUIRETLS (RFC 8689) end to end: a message submitted with REQUIRETLS goes only to an MX that an
 * MTA-STS policy lists, over TLS with a certificate verified for its name, and only when the server
 * offers REQUIRETLS itself: a second relay is that server (its listener offers REQUIRETLS after
 * STARTTLS and keeps the obligation for its own next hop). Where nobody can take it on, the message
 * bounces with 5.7.30 and the notification returns none of its content.
 */
class RequireTlsIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SECRET = "Subject: the diagnosis\r\nMessage-ID: <secret-1@senders.test>\r\n"
            + "From: app@senders.test\r\nTo: bob@nocap.test\r\n\r\nthe confidential body\r\n";

    static TestCertificates.Ca ca;
    static int smtpPort;
    static Wiser noRequireTls;   // 127.0.0.2 mx.nocap.test: STARTTLS with a valid certificate, no REQUIRETLS
    static Wiser senders;        // 127.0.0.8 mx.senders.test: where notifications to the sender arrive
    static StsPolicyServer policies;
    static TestDnsServer dns;

    @TempDir
    Path temp;

    @BeforeAll
    static void peers() throws Exception {
        ca = TestCertificates.ca();
        smtpPort = RelayHarness.freePort();
        noRequireTls = smtp("127.0.0.2", ca.issue("mx.nocap.test").serverContext());
        senders = Wiser.create(SMTPServer.port(smtpPort).bindAddress(InetAddress.getByName("127.0.0.8")));
        senders.start();
        policies = new StsPolicyServer(InetAddress.getByName("127.0.0.5"), 0,
                ca.issue("mta-sts.nocap.test", "mta-sts.secure.test").serverContext());
        policies.policy("nocap.test", StsPolicyServer.policyText("enforce", 86400, "mx.nocap.test"))
                .policy("secure.test", StsPolicyServer.policyText("testing", 86400, "mx.secure.test"));
        dns = new TestDnsServer().address("mx.nocap.test", "127.0.0.2").address("mx.secure.test", "127.0.0.9")
                .address("mx.senders.test", "127.0.0.8").mx("nocap.test", "10 mx.nocap.test")
                .mx("secure.test", "10 mx.secure.test").mx("senders.test", "10 mx.senders.test")
                .mx("unlisted.test", "10 mx.nocap.test");
        for (String d : List.of("nocap.test", "secure.test")) {
            dns.txt("_mta-sts." + d, "v=STSv1; id=1").address("mta-sts." + d, "127.0.0.5");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        noRequireTls.stop();
        senders.stop();
        policies.close();
        dns.close();
    }

    private static Wiser smtp(String address, SSLContext ctx) throws Exception {
        Wiser w = Wiser.create(SMTPServer.port(smtpPort).bindAddress(InetAddress.getByName(address)).startTlsSocketFactory(ctx)
                .enableTLS());
        w.start();
        return w;
    }

    private RelayHarness relay(Path dir) throws Exception {
        RelayHarness relay = new RelayHarness(dir).dns(dns.address(), smtpPort).env("MTA_STS_PORT", String.valueOf(policies.port()));
        Files.writeString(relay.configDir.resolve("test-ca.pem"), ca.pem());
        return relay.mainCf("smtp_tls_CAfile = test-ca.pem").start();
    }

    private static String dsnFor(String messageId) {
        return dsnFor(senders, messageId);
    }

    private static String dsnFor(Wiser at, String messageId) {
        await().atMost(WAIT).until(() -> at.getMessages().stream()
                .anyMatch(m -> new String(m.getData(), StandardCharsets.UTF_8).contains(messageId)));
        return at.getMessages().stream().map(m -> new String(m.getData(), StandardCharsets.UTF_8))
                .filter(t -> t.contains(messageId)).findFirst().orElseThrow();
    }

    @Test
    void aPeerWithoutRequireTlsMeansA5730BounceWhoseNotificationIsRedacted() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            int before = noRequireTls.getMessages().size();
            relay.server.engine().submit("app@senders.test", List.of("bob@nocap.test"), SECRET.getBytes(StandardCharsets.UTF_8),
                    SubmitOption.REQUIRE_TLS).get(10, TimeUnit.SECONDS);

            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(e.dsn()).isEqualTo("5.7.30");
            assertThat(e.reason()).contains("REQUIRETLS support required, but host mx.nocap.test[127.0.0.2] does not offer");
            assertThat(noRequireTls.getMessages()).hasSize(before);

            String dsn = dsnFor("secret-1@senders.test");
            assertThat(dsn).contains("Status: 5.7.30", "Message-ID: <secret-1@senders.test>", "text/rfc822-headers")
                    .doesNotContain("the diagnosis").doesNotContain("the confidential body");
        }
    }

    @Test
    void theJakartaTransportAsksForRequireTlsByProperty() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            Properties p = new Properties();
            p.setProperty("mail.relaymta.requiretls", "true");
            Session session = relay.server.engine().mailSession(p);
            MimeMessage m = new MimeMessage(session);
            m.setFrom(new InternetAddress("app@senders.test"));
            m.setRecipient(Message.RecipientType.TO, new InternetAddress("bob@nocap.test"));
            m.setSubject("jakarta");
            m.setText("x");
            Transport.send(m);
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(e.dsn()).isEqualTo("5.7.30");
        }
    }

    @Test
    void anMxFromNoValidatedLookupAndNoPolicyIsNotUsed() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            relay.server.engine().submit("app@senders.test", List.of("bob@unlisted.test"),
                    SECRET.replace("secret-1", "secret-2").getBytes(StandardCharsets.UTF_8), SubmitOption.REQUIRE_TLS)
                    .get(10, TimeUnit.SECONDS);
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(e.dsn()).isEqualTo("5.7.30");
            assertThat(e.reason()).contains("comes from no DNSSEC-validated lookup and no MTA-STS policy");
            assertThat(e.relay()).isEqualTo("none");
        }
    }

    @Test
    void aRelayThatOffersRequireTlsTakesTheMessageAndKeepsTheObligation() throws Exception {
        // Relay B is mx.secure.test: REQUIRETLS after STARTTLS, its own next hop the server without REQUIRETLS.
        TestCertificates.Pki cert = ca.issue("mx.secure.test");
        Path bConfig = temp.resolve("b/config");
        Files.createDirectories(bConfig);
        Files.writeString(bConfig.resolve("cert.pem"), cert.chainPem());
        Files.writeString(bConfig.resolve("key.pem"), cert.keyPem());
        Files.writeString(bConfig.resolve("test-ca.pem"), ca.pem());
        Files.writeString(bConfig.resolve("postfix-main.cf"), "myhostname = mx.secure.test\nsmtpd_tls_cert_file = cert.pem\n"
                + "smtpd_tls_key_file = key.pem\nsmtp_tls_CAfile = test-ca.pem\nminimal_backoff_time = 1s\n");
        LinkedBlockingQueue<DeliveryEvent> bEvents = new LinkedBlockingQueue<>();
        ServerSettings b = new ServerSettings(new InetSocketAddress("127.0.0.9", smtpPort), temp.resolve("b/spool"), bConfig,
                new Env(Map.of("DEFAULT_RELAY_HOST", "[mx.nocap.test]:" + smtpPort)), List.of(dns.address()), smtpPort,
                null);
        try (RelayServer relayB = RelayServer.start(b, bEvents::add); RelayHarness relayA = relay(temp.resolve("a"))) {
            try (Socket plain = new Socket("127.0.0.9", smtpPort)) {
                plain.setSoTimeout(5000);
                InputStream in = plain.getInputStream();
                OutputStream out = plain.getOutputStream();
                ListenerSecurityIT.readReply(in);
                out.write("EHLO client.test\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(ListenerSecurityIT.readReply(in)).doesNotContain("REQUIRETLS");
                out.write("MAIL FROM:<a@senders.test> REQUIRETLS\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(ListenerSecurityIT.readReply(in)).startsWith("530 5.7.10");
                SSLSocket tls = ListenerSecurityIT.startTls(plain, smtpPort);
                tls.getOutputStream().write("EHLO client.test\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(ListenerSecurityIT.readReply(tls.getInputStream())).contains("250 REQUIRETLS");
            }

            relayA.server.engine().submit("app@senders.test", List.of("bob@secure.test"),
                    SECRET.replace("secret-1", "secret-3").getBytes(StandardCharsets.UTF_8), SubmitOption.REQUIRE_TLS)
                    .get(10, TimeUnit.SECONDS);
            DeliveryEvent a = relayA.nextEvent(WAIT);
            assertThat(a.status()).as(a.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(a.tlsOutcome()).isEqualTo("verified(sts)");

            DeliveryEvent forwarded = bEvents.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(forwarded).isNotNull();
            assertThat(forwarded.status()).as(forwarded.logLine()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(forwarded.dsn()).isEqualTo("5.7.30");
            // B's notification goes out through its relay host (it needs no REQUIRETLS: it holds nothing of the message).
            assertThat(dsnFor(noRequireTls, "secret-3@senders.test")).contains("Status: 5.7.30")
                    .doesNotContain("the confidential body").doesNotContain("the diagnosis");
        }
    }
}
