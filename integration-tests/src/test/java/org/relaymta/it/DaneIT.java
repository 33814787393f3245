package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.SubmitOption;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.DnssecLab;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestCertificates;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * DANE (RFC 7672) end to end: a real validating resolver (unbound) in front of zones signed with
 * ldns-signzone and served by nsd, real TLS servers on loopback addresses whose certificates the
 * TLSA records describe, and the relay at {@code smtp_tls_security_level = dane} with
 * {@code smtp_dns_support_level = dnssec}.
 */
class DaneIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path labDir;
    static DnssecLab dns;
    static int port;
    static Wiser eeServer;          // 127.0.0.2: self-signed, published as DANE-EE(3) SPKI SHA-256
    static Wiser taServer;          // 127.0.0.4: signed by a CA published as DANE-TA(2) full certificate SHA-512
    static ScriptedSmtpServer noTls;   // 127.0.0.3: never offers STARTTLS (stripped by an attacker)

    @TempDir
    Path temp;

    @BeforeAll
    static void lab() throws Exception {
        assumeTrue(DnssecLab.available(), "nsd, unbound and ldnsutils (Debian) are needed; .ci/run installs them");
        port = RelayHarness.freePort();
        TestCertificates.SelfSigned ee = TestCertificates.selfSigned("mx.ee.test");
        TestCertificates.Pki ta = TestCertificates.caSigned("mx.ta.test");
        String sha512 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-512").digest(ta.caCert().getEncoded()));
        eeServer = tlsServer("127.0.0.2", ee.serverContext());
        taServer = tlsServer("127.0.0.4", ta.serverContext());
        noTls = ScriptedSmtpServer.accepting(InetAddress.getByName("127.0.0.3"), port, () -> "250 ok");
        String tlsa = "_" + port + "._tcp.";
        dns = DnssecLab.in(labDir.resolve("dns")).signed("test.",
                        "ee.test. MX 10 mx.ee.test.", "mx.ee.test. A 127.0.0.2",
                        tlsa + "mx.ee.test. TLSA 3 1 1 " + TestCertificates.sha256OfPublicKey(ee.cert()),
                        "ta.test. MX 10 mx.ta.test.", "mx.ta.test. A 127.0.0.4",
                        tlsa + "mx.ta.test. TLSA 2 0 2 " + sha512,
                        // a TLSA record for another key: the certificate the server shows does not match
                        "wrong.test. MX 10 mx.wrong.test.", "mx.wrong.test. A 127.0.0.2",
                        tlsa + "mx.wrong.test. TLSA 3 1 1 " + "5a".repeat(32),
                        // DANE-TA naming another host: the chain matches, the names do not
                        "misnamed.test. MX 10 mx.misnamed.test.", "mx.misnamed.test. A 127.0.0.4",
                        tlsa + "mx.misnamed.test. TLSA 2 0 2 " + sha512,
                        "stripped.test. MX 10 mx.stripped.test.", "mx.stripped.test. A 127.0.0.3",
                        tlsa + "mx.stripped.test. TLSA 3 1 1 " + TestCertificates.sha256OfPublicKey(ee.cert()),
                        "notlsa.test. MX 10 mx.notlsa.test.", "mx.notlsa.test. A 127.0.0.3",
                        "bogus.test. MX 10 mx.bogus.test.", "mx.bogus.test. A 127.0.0.2",
                        tlsa + "mx.bogus.test. TLSA 3 1 1 " + "b0".repeat(32))
                .unsigned("plain.test.", "plain.test. MX 10 mx.plain.test.", "mx.plain.test. A 127.0.0.3",
                        tlsa + "mx.plain.test. TLSA 3 1 1 " + "5a".repeat(32))
                // forged after signing to the server's own key: the signature no longer fits (bogus)
                .tamper("3 1 1 " + "b0".repeat(32), "3 1 1 " + TestCertificates.sha256OfPublicKey(ee.cert()))
                .start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (dns != null) {
            dns.close();
        }
        if (eeServer != null) {
            eeServer.stop();
            taServer.stop();
            noTls.close();
        }
    }

    private static Wiser tlsServer(String address, SSLContext ctx) throws Exception {
        Wiser w = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getByName(address)).startTlsSocketFactory(ctx).enableTLS());
        w.start();
        return w;
    }

    private RelayHarness relay(String level) throws Exception {
        return new RelayHarness(temp.resolve("r" + System.nanoTime())).dns(dns.resolver(), port)
                .mainCf("smtp_tls_security_level = " + level).mainCf("smtp_dns_support_level = dnssec").start();
    }

    private DeliveryEvent send(RelayHarness relay, String rcpt) throws Exception {
        try (SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", rcpt, "Subject: dane\r\n\r\nx\r\n")).startsWith("250");
        }
        return relay.nextEvent(WAIT);
    }

    @Test
    void aDaneEeMatchIsDeliveredAndLoggedVerifiedDane() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            int before = eeServer.getMessages().size();
            DeliveryEvent e = send(relay, "bob@ee.test");
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("verified(dane)");
            assertThat(e.logLine()).endsWith(" tls=verified(dane)");
            assertThat(eeServer.getMessages()).hasSize(before + 1);
        }
    }

    @Test
    void aDaneTaMatchWithTheMxNameIsDelivered() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            DeliveryEvent e = send(relay, "bob@ta.test");
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("verified(dane)");
        }
    }

    @Test
    void aTlsaMismatchIsDeferredWith475AndNothingIsSent() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            int before = eeServer.getMessages().size();
            DeliveryEvent e = send(relay, "bob@wrong.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("no TLSA record matches");
            DeliveryEvent misnamed = send(relay, "bob@misnamed.test");
            assertThat(misnamed.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(misnamed.dsn()).isEqualTo("4.7.5");
            assertThat(misnamed.reason()).contains("DANE-TA matched").contains("mx.misnamed.test");
            assertThat(eeServer.getMessages()).hasSize(before);
        }
    }

    @Test
    void startTlsStrippedForADaneDestinationIsDeferred() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            int before = noTls.received.size();
            DeliveryEvent e = send(relay, "bob@stripped.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.4");
            assertThat(e.reason()).contains("TLS is required, but was not offered");
            assertThat(noTls.received.subList(before, noTls.received.size())).noneMatch(l -> l.startsWith("MAIL"));
        }
    }

    @Test
    void anUnsignedZoneOrNoTlsaIsOpportunistic() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            DeliveryEvent plain = send(relay, "bob@plain.test");
            assertThat(plain.status()).as(plain.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(plain.tlsOutcome()).isEqualTo("none");
            DeliveryEvent none = send(relay, "bob@notlsa.test");
            assertThat(none.status()).as(none.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
        }
    }

    @Test
    void daneOnlyNeverFallsBack() throws Exception {
        try (RelayHarness relay = relay("dane-only")) {
            DeliveryEvent plain = send(relay, "bob@plain.test");
            assertThat(plain.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(plain.dsn()).isEqualTo("4.7.5");
            assertThat(plain.reason()).contains("dane-only");
            DeliveryEvent ee = send(relay, "bob@ee.test");
            assertThat(ee.status()).as(ee.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
        }
    }

    @Test
    void tlsRequiredNoIsDeliveredDespiteATlsaMismatch() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            int before = eeServer.getMessages().size();
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("a@one.test", "bob@wrong.test", "TLS-Required: No\r\nSubject: newsletter\r\n\r\nx\r\n"))
                        .startsWith("250");
            }
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("may");
            relay.server.engine().submit("a@one.test", List.of("carol@wrong.test"), "Subject: api\r\n\r\nx\r\n"
                    .getBytes(StandardCharsets.US_ASCII), SubmitOption.TLS_NOT_REQUIRED).get(10, TimeUnit.SECONDS);
            DeliveryEvent api = relay.nextEvent(WAIT);
            assertThat(api.status()).as(api.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(eeServer.getMessages()).hasSize(before + 2);
            assertThat(new String(eeServer.getMessages().get(before + 1).getData(), StandardCharsets.US_ASCII))
                    .contains("TLS-Required: No");
        }
    }

    @Test
    void aBogusTlsaAnswerIsDeferred() throws Exception {
        try (RelayHarness relay = relay("dane")) {
            DeliveryEvent e = send(relay, "bob@bogus.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("bogus");
        }
    }
}
