package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.StsPolicyServer;
import org.relaymta.testing.TestCertificates;
import org.relaymta.testing.TestDnsServer;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * MTA-STS (RFC 8461) end to end: policies served over real HTTPS by a server whose certificate a
 * test CA signed, found through the relay's own DNS server, and applied to real TLS servers on
 * loopback. The relay trusts the test CA through {@code smtp_tls_CAfile}, for the MX and the policy
 * host alike.
 */
class MtaStsIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    static TestCertificates.Ca ca;
    static int smtpPort;
    static Wiser trustedMx;       // 127.0.0.2, mx.sts.test, certificate by the test CA
    static Wiser selfSignedMx;    // 127.0.0.3, mx.selfsigned.test, self-signed
    static StsPolicyServer policies;   // 127.0.0.5
    static TestDnsServer dns;

    @TempDir
    Path temp;

    @BeforeAll
    static void peers() throws Exception {
        ca = TestCertificates.ca();
        smtpPort = RelayHarness.freePort();
        trustedMx = smtp("127.0.0.2", ca.issue("mx.sts.test").serverContext());
        selfSignedMx = smtp("127.0.0.3", TestCertificates.selfSigned("mx.selfsigned.test").serverContext());
        String[] domains = {"enforce.test", "outside.test", "untrusted.test", "testing.test", "redirect.test", "cached.test"};
        String[] hosts = new String[domains.length];
        for (int i = 0; i < domains.length; i++) {
            hosts[i] = "mta-sts." + domains[i];
        }
        policies = new StsPolicyServer(InetAddress.getByName("127.0.0.5"), 0, ca.issue(hosts).serverContext());
        dns = new TestDnsServer().address("mx.sts.test", "127.0.0.2").address("mx.selfsigned.test", "127.0.0.3");
        for (String d : domains) {
            dns.txt("_mta-sts." + d, "v=STSv1; id=20261207").address("mta-sts." + d, "127.0.0.5");
        }
        dns.mx("enforce.test", "10 mx.sts.test").mx("outside.test", "10 mx.sts.test").mx("untrusted.test", "10 mx.selfsigned.test")
                .mx("testing.test", "10 mx.selfsigned.test").mx("redirect.test", "10 mx.selfsigned.test")
                .mx("cached.test", "10 mx.sts.test").mx("nopolicy.test", "10 mx.selfsigned.test");
        policies.policy("enforce.test", StsPolicyServer.policyText("enforce", 86400, "*.sts.test"))
                .policy("outside.test", StsPolicyServer.policyText("enforce", 86400, "mail.elsewhere.test"))
                .policy("untrusted.test", StsPolicyServer.policyText("enforce", 86400, "*.selfsigned.test"))
                .policy("testing.test", StsPolicyServer.policyText("testing", 86400, "*.selfsigned.test"))
                .answer("redirect.test", new StsPolicyServer.Answer(301, "text/html", "", "https://example.org/"))
                .policy("cached.test", StsPolicyServer.policyText("enforce", 86400, "mail.elsewhere.test"));
    }

    @AfterAll
    static void stop() throws Exception {
        trustedMx.stop();
        selfSignedMx.stop();
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

    private static DeliveryEvent send(RelayHarness relay, String rcpt) throws Exception {
        try (SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", rcpt, "Subject: sts\r\n\r\nx\r\n")).startsWith("250");
        }
        return relay.nextEvent(WAIT);
    }

    @Test
    void enforceWithAListedMxAndAValidCertificateIsDeliveredVerifiedSts() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            int before = trustedMx.getMessages().size();
            DeliveryEvent e = send(relay, "bob@enforce.test");
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("verified(sts)");
            assertThat(e.logLine()).endsWith(" tls=verified(sts)");
            assertThat(trustedMx.getMessages()).hasSize(before + 1);
        }
    }

    @Test
    void enforceWithAnMxOutsideThePatternsIsDeferredAndNothingIsSent() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            int before = trustedMx.getMessages().size();
            DeliveryEvent e = send(relay, "bob@outside.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("mx.sts.test is not among the mx of the MTA-STS policy of outside.test (enforce)");
            assertThat(trustedMx.getMessages()).hasSize(before);
        }
    }

    @Test
    void enforceWithAnUntrustedCertificateIsDeferred() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            int before = selfSignedMx.getMessages().size();
            DeliveryEvent e = send(relay, "bob@untrusted.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("Server certificate not trusted").contains("MTA-STS policy of untrusted.test (enforce)");
            assertThat(selfSignedMx.getMessages()).hasSize(before);
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + relay.server.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).containsPattern("mta_tls_policy_total\\{[^}]*policy=\"sts\",result=\"certificate-not-trusted\"[^}]*} 1.0");
        }
    }

    @Test
    void testingModeDeliversDespiteTheUntrustedCertificate() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            int before = selfSignedMx.getMessages().size();
            DeliveryEvent e = send(relay, "bob@testing.test");
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("may");
            assertThat(selfSignedMx.getMessages()).hasSize(before + 1);
        }
    }

    @Test
    void aRedirectedPolicyIsNoPolicy() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            DeliveryEvent e = send(relay, "bob@redirect.test");
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tlsOutcome()).isEqualTo("may");
            DeliveryEvent none = send(relay, "bob@nopolicy.test");
            assertThat(none.status()).as(none.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
        }
    }

    @Test
    void mtaRouteShowsThePolicyTheRunningRelayApplies() throws Exception {
        try (RelayHarness relay = relay(temp)) {
            send(relay, "bob@enforce.test");
            Process p = MtaProcessIT.mta(temp, Map.of(), "route", "--spool-dir", relay.spoolDir.toString(), "--config-dir",
                    relay.configDir.toString(), "a@one.test", "bob@enforce.test").start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).contains("tls policy for enforce.test (from the running relay): table entry none",
                    "MTA-STS enforce (mx [\"*.sts.test\"], max_age 86400 s, fetched", "id 20261207)",
                    "mx.sts.test[127.0.0.2]:" + smtpPort + " (DNSSEC not validated): verify, check sts, mandatory "
                            + "[MTA-STS policy of enforce.test (enforce)]");
        }
    }

    @Test
    void aPolicyIsKeptAcrossARestartWithThePolicyServerDown() throws Exception {
        policies.policy("cached.test", StsPolicyServer.policyText("enforce", 86400, "mail.elsewhere.test"));
        try (RelayHarness relay = relay(temp)) {
            DeliveryEvent e = send(relay, "bob@cached.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.reason()).contains("MTA-STS policy of cached.test (enforce)");
        }
        assertThat(temp.resolve("spool/mta-sts/cached.test.policy")).exists();
        policies.answer("cached.test", new StsPolicyServer.Answer(503, "text/plain", "down", null));
        long fetches = policies.requests.stream().filter("mta-sts.cached.test"::equals).count();
        try (RelayHarness relay = relay(temp)) {
            int before = trustedMx.getMessages().size();
            DeliveryEvent e = send(relay, "bob@cached.test");
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(e.reason()).contains("MTA-STS policy of cached.test (enforce)");
            assertThat(trustedMx.getMessages()).hasSize(before);
        }
        // The TXT id did not change: the cached policy was used without asking the policy host.
        assertThat(policies.requests.stream().filter("mta-sts.cached.test"::equals).count()).isEqualTo(fetches);
    }
}
