package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestDnsServer;

/**
 * What a recipient's DNS says is written by whoever owns that domain (anyone who can get mail sent
 * to it through a sign-up form): the packaged relay, delivering directly through a test DNS server,
 * must not put such names raw into its log or its metrics, nor hand relay credentials to the MX
 * they name; and an address literal is delivered to the literal.
 */
class HostileDnsIT {
    private static final String FORGED = "x\"} fake_metric 1\r.2026-12-04 [info] delivery - fake";

    @TempDir
    Path temp;

    @Test
    void namesFromDnsAreCheckedLogsAndMetricsEscapedAndBoundedAndNoCredentialsGoToAnMx() throws Exception {
        try (ScriptedSmtpServer mx = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), RelayHarness.freePort(),
                () -> "250 2.1.5 ok", "AUTH PLAIN LOGIN");
             TestDnsServer dns = new TestDnsServer()
                     .mx("bank.test", "10 " + FORGED + ".bank.test", "20 mx.bank.test")
                     .address("mx.bank.test", "127.0.0.1")
                     .mx("evil.test", "10 " + FORGED + ".evil.test")) {
            for (int i = 0; i < 5; i++) {
                dns.mx("signup" + i + ".test", "10 mx" + i + ".signup" + i + ".test").address("mx" + i + ".signup" + i + ".test", "127.0.0.1");
            }
            Path config = Files.createDirectories(temp.resolve("config"));
            // Credentials for a sender domain that has no relay host: mail from it goes to the recipients' MX.
            Files.write(config.resolve("postfix-sasl-password.cf"), List.of("@e.test e-smarthost-user:e-secret"));
            Files.write(config.resolve("postfix-main.cf"), List.of("myhostname = relay.test", "smtp_tls_security_level = may",
                    "minimal_backoff_time = 1s", "maximal_backoff_time = 2s",
                    "smtp_connection_cache_time_limit = 0s"));   // the scripted MX serves one session at a time
            Path log = temp.resolve("relay.log");
            int port = RelayHarness.freePort();
            int admin = RelayHarness.freePort();
            Process relay = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN", "127.0.0.1:" + admin,
                    "MTA_DNS_SERVERS", "127.0.0.1:" + dns.address().getPort(), "MTA_DIRECT_PORT", String.valueOf(mx.port())), "run")
                    .redirectOutput(log.toFile()).start();
            try {
                assertThat(MtaProcessIT.awaitLog(log, "outbound:", 1)).isTrue();
                assertThat(Files.readString(log)).as("warned at start")
                        .contains("postfix-sasl-password.cf:1: credentials for @e.test are never used");
                try (SmtpTestClient c = new SmtpTestClient(port)) {
                    c.command("EHLO client.test");
                    assertThat(c.send("app@e.test", "ceo@bank.test", "Subject: a\r\n\r\nx\r\n")).startsWith("250");
                    assertThat(c.send("app@e.test", "ceo@evil.test", "Subject: b\r\n\r\nx\r\n")).startsWith("250");
                    assertThat(c.send("app@e.test", "r@[127.0.0.1]", "Subject: c\r\n\r\nx\r\n")).startsWith("250");
                    for (int i = 0; i < 5; i++) {
                        assertThat(c.send("app@e.test", "user@signup" + i + ".test", "Subject: d\r\n\r\nx\r\n")).startsWith("250");
                    }
                }
                assertThat(MtaProcessIT.awaitLog(log, "status=sent", 7)).as(Files.readString(log)).isTrue();
                assertThat(MtaProcessIT.awaitLog(log, "to=<ceo@evil.test>", 1)).isTrue();
                String text = Files.readString(log);
                assertThat(text).contains("to=<ceo@bank.test>, relay=mx.bank.test[127.0.0.1]:" + mx.port())
                        .contains("to=<r@[127.0.0.1]>, relay=127.0.0.1[127.0.0.1]:" + mx.port())
                        .containsPattern("to=<ceo@evil\\.test>, relay=none, .*dsn=4\\.4\\.3, status=deferred \\(.*malformed")
                        .contains("malformed domain name in resource data of MX record for bank.test: x\\\"} fake_metric 1\\r")
                        .doesNotContain("\r.2026-12-04", "\n.2026-12-04", "e-secret");
                assertThat(text.lines().filter(l -> l.contains("fake_metric")))
                        .allSatisfy(l -> assertThat(l).contains("malformed domain name").contains("\\r"));
                assertThat(mx.received).as("no AUTH to a recipient's MX").noneMatch(l -> l.toUpperCase().startsWith("AUTH"));

                String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + admin + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
                assertThat(metrics).doesNotContain("fake_metric", "\r").doesNotContain("signup");
                assertThat(SubmissionAndMetricsIT.value(metrics, "mta_deliveries_total{class=\"\",relay=\"direct\",status=\"sent\"}"))
                        .isEqualTo(7);
                Matcher series = Pattern.compile("(?m)^mta_deliveries_total\\{").matcher(metrics);
                int n = 0;
                while (series.find()) {
                    n++;
                }
                assertThat(n).as("one series per status for all direct destinations").isLessThanOrEqualTo(2);
            } finally {
                relay.destroy();
                relay.waitFor();
            }
        }
        Process route = MtaProcessIT.mta(temp, Map.of(), "route", "app@e.test", "ceo@bank.test").start();
        String out = new String(route.getInputStream().readAllBytes());
        route.waitFor();
        assertThat(out).contains("next hop:    MX of bank.test").contains("credentials: no credentials (direct delivery)")
                .doesNotContain("e-smarthost-user");
        Process check = MtaProcessIT.mta(temp, Map.of(), "config", "check").start();
        String found = new String(check.getInputStream().readAllBytes());
        assertThat(check.waitFor()).isEqualTo(1);
        assertThat(found).contains("warning: postfix-sasl-password.cf:1: credentials for @e.test are never used");
    }

}
