package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.TlsLevel;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestCertificates;
import org.relaymta.testing.TestDnsServer;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * smtp_tls_policy_maps end to end: mail to an MX under a per-destination policy, against real TLS
 * servers on loopback with certificates made by the test; the TLS outcome on the event and the log line.
 */
class TlsPolicyIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    private static Wiser tlsServer(int port, SSLContext ctx) throws Exception {
        Wiser w = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getByName("127.0.0.2")).startTlsSocketFactory(ctx).requireTLS());
        w.start();
        return w;
    }

    private RelayHarness relay(TestDnsServer dns, int port, String... policy) throws Exception {
        RelayHarness relay = new RelayHarness(temp.resolve("r" + System.nanoTime())).dns(dns.address(), port);
        Files.writeString(relay.configDir.resolve("postfix-tls-policy.cf"), String.join("\n", policy) + "\n");
        return relay;
    }

    @Test
    void aFingerprintPolicyDeliversToTheServerWithThatCertificateOnly() throws Exception {
        int port = RelayHarness.freePort();
        TestCertificates.SelfSigned cert = TestCertificates.selfSigned("mx1.ext.test");
        Wiser mx = tlsServer(port, cert.serverContext());
        try (TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 mx1.ext.test").address("mx1.ext.test", "127.0.0.2");
             RelayHarness relay = relay(dns, port, "ext.test fingerprint match=" + TestCertificates.sha256OfCertificate(cert.cert())
                     + "|" + "00".repeat(32)).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: pinned\r\n\r\nx\r\n")).startsWith("250");

            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("verified(fingerprint)");
            assertThat(e.tls()).startsWith("TLSv1.");
            assertThat(e.logLine()).endsWith(" tls=verified(fingerprint)").contains("status=sent (");
            assertThat(mx.getMessages()).hasSize(1);
        } finally {
            mx.stop();
        }
    }

    @Test
    void aCertificateWithAnotherFingerprintDefersAndNothingIsSent() throws Exception {
        int port = RelayHarness.freePort();
        Wiser mx = tlsServer(port, TestCertificates.selfSigned("mx1.ext.test").serverContext());
        try (TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 mx1.ext.test").address("mx1.ext.test", "127.0.0.2");
             RelayHarness relay = relay(dns, port, "ext.test fingerprint match=" + "ab".repeat(32)).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: mitm\r\n\r\nx\r\n")).startsWith("250");

            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("Server certificate not verified: fingerprint")
                    .contains("smtp_tls_policy_maps postfix-tls-policy.cf:1");
            assertThat(mx.getMessages()).isEmpty();
        } finally {
            mx.stop();
        }
    }

    @Test
    void secureWithDotNexthopTrustsTheCaFileAndAnyNameBelowTheDomain() throws Exception {
        int port = RelayHarness.freePort();
        TestCertificates.Pki pki = TestCertificates.caSigned("mx1.ext.test");
        Wiser mx = tlsServer(port, pki.serverContext());
        try (TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 mx1.ext.test").address("mx1.ext.test", "127.0.0.2")
                     .mx("strict.test", "10 mx1.ext.test");
             RelayHarness relay = relay(dns, port, "ext.test secure match=nexthop:dot-nexthop",
                     "strict.test secure match=nexthop")) {
            Files.writeString(relay.configDir.resolve("ca.pem"), pki.caPem());
            relay.mainCf("smtp_tls_CAfile = ca.pem").start();
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("a@one.test", "bob@ext.test", "Subject: secure\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent ok = relay.nextEvent(WAIT);
                assertThat(ok.status()).as(ok.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
                assertThat(ok.tlsOutcome()).isEqualTo("verified(pkix)");

                assertThat(client.send("a@one.test", "carol@strict.test", "Subject: strict\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent refused = relay.nextEvent(WAIT);
                assertThat(refused.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
                assertThat(refused.dsn()).isEqualTo("4.7.5");
                assertThat(refused.reason()).contains("match none of [strict.test]");
                assertThat(mx.getMessages()).hasSize(1);
            }
        } finally {
            mx.stop();
        }
    }

    @Test
    void encryptForADestinationWhoseServerOffersNoStartTlsDefersWhileOthersStayOpportunistic() throws Exception {
        try (ScriptedSmtpServer stripped = ScriptedSmtpServer.accepting(InetAddress.getByName("127.0.0.2"), 0, () -> "250 ok");
             TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 mx1.ext.test").address("mx1.ext.test", "127.0.0.2")
                     .mx("plain.test", "10 mx1.ext.test");
             RelayHarness relay = relay(dns, stripped.port(), "ext.test encrypt").start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: must be encrypted\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.4");
            assertThat(e.reason()).isEqualTo("TLS is required, but was not offered by host mx1.ext.test[127.0.0.2]");
            assertThat(stripped.received).noneMatch(l -> l.startsWith("MAIL"));

            assertThat(client.send("a@one.test", "carol@plain.test", "Subject: opportunistic\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent plain = relay.nextEvent(WAIT);
            assertThat(plain.status()).as(plain.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(plain.tlsOutcome()).isEqualTo("none");
            assertThat(plain.logLine()).endsWith(" tls=none");
        }
    }

    @Test
    void aChangedTableTakesEffectWithoutARestart() throws Exception {
        try (TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 mx1.ext.test").address("mx1.ext.test", "127.0.0.2");
             RelayHarness relay = relay(dns, 25, "# nothing yet").start()) {
            assertThat(relay.server.config().delivery().tls().policies().lookup("ext.test", 25, true)).isEmpty();

            Files.writeString(relay.configDir.resolve("postfix-tls-policy.cf"), "ext.test dane-only\n");

            await().atMost(WAIT).until(() -> relay.server.config().delivery().tls().policies()
                    .lookup("ext.test", 25, true).map(p -> p.level() == TlsLevel.DANE_ONLY).orElse(false));
        }
    }
}
