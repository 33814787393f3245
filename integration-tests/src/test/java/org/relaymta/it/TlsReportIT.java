package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.StsPolicyServer;
import org.relaymta.testing.TestCertificates;
import org.relaymta.testing.TestDnsServer;
import org.relaymta.testing.TlsReportSchema;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * SMTP TLS reports (RFC 8460) end to end: sessions to a domain with an MTA-STS policy in testing mode
 * succeed or fail in each way a real TLS server on loopback can make them fail, the counts survive a
 * restart, and once the period is over the report arrives by mail at the domain's rua address, as
 * the RFC's gzipped JSON, which matches the RFC's schema. A moved clock ends the period.
 */
class TlsReportIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    static TestCertificates.Ca ca;
    static int smtpPort;
    static Wiser ok;            // 127.0.0.2 mx-ok.report.test, by the test CA
    static ScriptedSmtpServer plain;   // 127.0.0.3 mx-plain.report.test, no STARTTLS
    static Wiser selfSigned;    // 127.0.0.4 mx-self.report.test
    static Wiser misnamed;      // 127.0.0.6 mx-misnamed.report.test, certificate for another name
    static Wiser expired;       // 127.0.0.7 mx-expired.report.test, certificate expired yesterday
    static Wiser reportsMx;     // 127.0.0.8 mx.reports.test: where the reports go
    static StsPolicyServer policies;
    static TestDnsServer dns;
    static HttpsServer api;      // 127.0.0.10 reports-api.test: the https: rua of report.test
    static final List<byte[]> posted = new CopyOnWriteArrayList<>();
    static final List<String> postedTypes = new CopyOnWriteArrayList<>();

    @TempDir
    Path temp;

    @BeforeAll
    static void peers() throws Exception {
        ca = TestCertificates.ca();
        smtpPort = RelayHarness.freePort();
        ok = smtp("127.0.0.2", ca.issue("mx-ok.report.test").serverContext());
        plain = ScriptedSmtpServer.accepting(InetAddress.getByName("127.0.0.3"), smtpPort, () -> "250 ok");
        selfSigned = smtp("127.0.0.4", TestCertificates.selfSigned("mx-self.report.test").serverContext());
        misnamed = smtp("127.0.0.6", ca.issue("somebody.else.test").serverContext());
        Instant now = Instant.now();
        expired = smtp("127.0.0.7", ca.issue(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)),
                "mx-expired.report.test").serverContext());
        reportsMx = Wiser.create(SMTPServer.port(smtpPort).bindAddress(InetAddress.getByName("127.0.0.8")));
        reportsMx.start();
        policies = new StsPolicyServer(InetAddress.getByName("127.0.0.5"), 0,
                ca.issue("mta-sts.report.test", "mta-sts.broken.test").serverContext());
        policies.policy("report.test", StsPolicyServer.policyText("testing", 86400, "*.report.test"))
                .answer("broken.test", new StsPolicyServer.Answer(503, "text/plain", "down", null));
        dns = new TestDnsServer().address("mx-ok.report.test", "127.0.0.2").address("mx-plain.report.test", "127.0.0.3")
                .address("mx-self.report.test", "127.0.0.4").address("mx-misnamed.report.test", "127.0.0.6")
                .address("mx-expired.report.test", "127.0.0.7").address("mail.outside.test", "127.0.0.2")
                .address("mx.reports.test", "127.0.0.8").mx("reports.test", "10 mx.reports.test")
                .mx("broken.test", "10 mx-ok.report.test");
        api = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.10"), 0), 8);
        api.setHttpsConfigurator(new HttpsConfigurator(ca.issue("reports-api.test").serverContext()));
        api.createContext("/v1/tlsrpt", ex -> {
            postedTypes.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type"));
            posted.add(ex.getRequestBody().readAllBytes());
            ex.sendResponseHeaders(201, -1);
            ex.close();
        });
        api.start();
        dns.address("reports-api.test", "127.0.0.10");
        for (String d : List.of("report.test", "broken.test")) {
            dns.txt("_mta-sts." + d, "v=STSv1; id=1").address("mta-sts." + d, "127.0.0.5")
                    .txt("_smtp._tls." + d, "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test" + (d.equals("report.test")
                            ? ",https://reports-api.test:" + api.getAddress().getPort() + "/v1/tlsrpt" : ""));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (Wiser w : List.of(ok, selfSigned, misnamed, expired, reportsMx)) {
            w.stop();
        }
        plain.close();
        policies.close();
        api.stop(0);
        dns.close();
    }

    @BeforeEach
    void clearReports() {
        reportsMx.getMessages().clear();
        posted.clear();
        postedTypes.clear();
    }

    private static Wiser smtp(String address, SSLContext ctx) throws Exception {
        Wiser w = Wiser.create(SMTPServer.port(smtpPort).bindAddress(InetAddress.getByName(address)).startTlsSocketFactory(ctx)
                .enableTLS());
        w.start();
        return w;
    }

    private RelayHarness relay(Path dir, MovedClock clock) throws Exception {
        RelayHarness relay = new RelayHarness(dir).dns(dns.address(), smtpPort).clock(clock)
                .env("MTA_STS_PORT", String.valueOf(policies.port()));
        Files.writeString(relay.configDir.resolve("test-ca.pem"), ca.pem());
        return relay.mainCf("smtp_tls_CAfile = test-ca.pem").mainCf("tlsrpt_interval = 1h")
                .mainCf("tlsrpt_organization_name = Relay Test Org").start();
    }

    private static void send(RelayHarness relay, String mx, String rcpt) throws Exception {
        dns.mx(rcpt.substring(rcpt.indexOf('@') + 1), "10 " + mx);
        try (SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", rcpt, "Subject: report me\r\n\r\nx\r\n")).startsWith("250");
        }
        DeliveryEvent e = relay.nextEvent(WAIT);
        assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
    }

    /** The reports that arrived, by policy domain: the JSON of the gzipped attachment, the mail's headers checked. */
    private static Map<String, JsonObject> reports(int expected) throws Exception {
        await().atMost(WAIT).until(() -> reportsMx.getMessages().size() >= expected);
        Map<String, JsonObject> out = new HashMap<>();
        for (WiserMessage m : reportsMx.getMessages()) {
            assertThat(m.getEnvelopeReceiver()).isEqualTo("tlsrpt@reports.test");
            MimeMessage mime = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(m.getData()));
            assertThat(mime.getContentType()).startsWith("multipart/report").contains("report-type=\"tlsrpt\"");
            String domain = mime.getHeader("TLS-Report-Domain", null);
            assertThat(mime.getHeader("TLS-Report-Submitter", null)).isEqualTo("Relay Test Org");
            assertThat(mime.getSubject()).startsWith("Report Domain: " + domain + " Submitter: Relay Test Org Report-ID: <");
            Multipart parts = (Multipart) mime.getContent();
            Part report = null;
            for (int i = 0; i < parts.getCount(); i++) {
                if (parts.getBodyPart(i).isMimeType("application/tlsrpt+gzip")) {
                    report = parts.getBodyPart(i);
                }
            }
            assertThat(report).as("an application/tlsrpt+gzip part").isNotNull();
            assertThat(report.getFileName()).startsWith("Relay Test Org!" + domain + "!").endsWith(".json.gz");
            try (InputStream in = new GZIPInputStream(report.getInputStream())) {
                String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertThat(TlsReportSchema.problems(json)).as(json).isEmpty();
                out.put(domain, JsonParser.parseString(json).getAsJsonObject());
            }
        }
        return out;
    }

    private static Map<String, Long> failures(JsonObject policy) {
        Map<String, Long> out = new HashMap<>();
        JsonArray details = policy.getAsJsonArray("failure-details");
        if (details != null) {
            for (JsonElement d : details) {
                out.merge(d.getAsJsonObject().get("result-type").getAsString(),
                        d.getAsJsonObject().get("failed-session-count").getAsLong(), Long::sum);
            }
        }
        return out;
    }

    @Test
    void aPeriodsSuccessesAndFailuresArriveAsOneReportPerDomainAtTheRuaAddress() throws Exception {
        MovedClock clock = new MovedClock(Instant.now());
        try (RelayHarness relay = relay(temp, clock)) {
            send(relay, "mx-ok.report.test", "bob@report.test");
            send(relay, "mx-plain.report.test", "bob@report.test");
            send(relay, "mx-self.report.test", "bob@report.test");
        }
        // Counted before a restart, reported after it.
        try (RelayHarness relay = relay(temp, clock)) {
            send(relay, "mx-misnamed.report.test", "bob@report.test");
            send(relay, "mx-expired.report.test", "bob@report.test");
            send(relay, "mail.outside.test", "bob@report.test");
            send(relay, "mx-ok.report.test", "carol@broken.test");
            assertThat(reportsMx.getMessages()).as("nothing before the period ends").isEmpty();

            clock.advance(Duration.ofHours(1));
            EngineAccess.internals(relay.server.engine()).tlsReports().checkNow();

            Map<String, JsonObject> reports = reports(2);
            assertThat(reports).containsOnlyKeys("report.test", "broken.test");
            JsonObject report = reports.get("report.test");
            assertThat(report.get("organization-name").getAsString()).isEqualTo("Relay Test Org");
            JsonArray policies = report.getAsJsonArray("policies");
            assertThat(policies).hasSize(1);
            JsonObject entry = policies.get(0).getAsJsonObject();
            JsonObject policy = entry.getAsJsonObject("policy");
            assertThat(policy.get("policy-type").getAsString()).isEqualTo("sts");
            assertThat(policy.get("policy-domain").getAsString()).isEqualTo("report.test");
            assertThat(policy.getAsJsonArray("mx-host").get(0).getAsString()).isEqualTo("*.report.test");
            assertThat(policy.getAsJsonArray("policy-string").toString()).contains("mode: testing");
            assertThat(entry.getAsJsonObject("summary").get("total-successful-session-count").getAsLong()).isEqualTo(1);
            assertThat(entry.getAsJsonObject("summary").get("total-failure-session-count").getAsLong()).isEqualTo(5);
            assertThat(failures(entry)).containsOnly(Map.entry("starttls-not-supported", 1L),
                    Map.entry("certificate-not-trusted", 1L), Map.entry("certificate-host-mismatch", 1L),
                    Map.entry("certificate-expired", 1L), Map.entry("validation-failure", 1L));
            assertThat(entry.getAsJsonArray("failure-details").toString()).contains("\"receiving-mx-hostname\":\"mx-plain.report.test\"",
                    "\"receiving-ip\":\"127.0.0.3\"", "\"sending-mta-ip\":\"127.0.0.1\"");

            // The same report, POSTed to the https: rua.
            assertThat(postedTypes).containsExactly("POST application/tlsrpt+gzip");
            String postedJson = new String(new GZIPInputStream(new ByteArrayInputStream(posted.get(0))).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertThat(TlsReportSchema.problems(postedJson)).isEmpty();
            assertThat(JsonParser.parseString(postedJson).getAsJsonObject().get("report-id"))
                    .isEqualTo(report.get("report-id"));

            JsonObject broken = reports.get("broken.test").getAsJsonArray("policies").get(0).getAsJsonObject();
            assertThat(failures(broken)).containsOnly(Map.entry("sts-policy-fetch-error", 1L));

            // Sent once: the next check finds nothing more to send.
            EngineAccess.internals(relay.server.engine()).tlsReports().checkNow();
            assertThat(relay.server.engine().queue().size()).isZero();
            assertThat(reportsMx.getMessages()).hasSize(2);
        }
    }

    @Test
    void twoNodesSharingRedisSendOneReportWithBothNodesSessions() throws Exception {
        try (RedisServer redis = RedisServer.start(temp)) {
            MovedClock clock = new MovedClock(Instant.now());
            String url = "redis://127.0.0.1:" + redis.port;
            try (RelayHarness a = relayWithRedis(temp.resolve("a"), clock, url);
                 RelayHarness b = relayWithRedis(temp.resolve("b"), clock, url)) {
                send(a, "mx-ok.report.test", "bob@report.test");
                send(b, "mx-ok.report.test", "carol@report.test");
                send(b, "mx-plain.report.test", "dave@report.test");
                clock.advance(Duration.ofHours(1));
                EngineAccess.internals(a.server.engine()).tlsReports().checkNow();
                EngineAccess.internals(b.server.engine()).tlsReports().checkNow();

                Map<String, JsonObject> reports = reports(1);
                await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> reportsMx.getMessages().size() == 1);
                JsonObject entry = reports.get("report.test").getAsJsonArray("policies").get(0).getAsJsonObject();
                assertThat(entry.getAsJsonObject("summary").get("total-successful-session-count").getAsLong()).isEqualTo(2);
                assertThat(failures(entry)).containsOnly(Map.entry("starttls-not-supported", 1L));
            }
        }
    }

    private RelayHarness relayWithRedis(Path dir, MovedClock clock, String url) throws Exception {
        RelayHarness relay = new RelayHarness(dir).dns(dns.address(), smtpPort).clock(clock)
                .env("MTA_STS_PORT", String.valueOf(policies.port())).env("MTA_REDIS_URL", url).env("MTA_CLUSTER_NODES", "2");
        Files.writeString(relay.configDir.resolve("test-ca.pem"), ca.pem());
        return relay.mainCf("smtp_tls_CAfile = test-ca.pem").mainCf("tlsrpt_interval = 1h")
                .mainCf("tlsrpt_organization_name = Relay Test Org").start();
    }
}
