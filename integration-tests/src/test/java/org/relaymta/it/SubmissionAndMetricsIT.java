package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.apache.commons.codec.digest.Crypt;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.Env;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;
import org.subethamail.wiser.Wiser;

/** Authenticated submission with docker-mailserver accounts, and what /metrics and /health show. */
class SubmissionAndMetricsIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    /** Jakarta Mail client properties for the relay's TLS listeners (self-signed certificate, no host check). */
    static Properties clientProperties(int port) {
        Properties p = new Properties();
        p.put("mail.smtp.host", "127.0.0.1");
        p.put("mail.smtp.port", Integer.toString(port));
        p.put("mail.smtp.auth", "true");
        p.put("mail.smtp.ssl.trust", "*");
        p.put("mail.smtp.ssl.checkserveridentity", "false");
        p.put("mail.smtp.timeout", "10000");
        return p;
    }

    private static Properties submission(int port, String mechanisms) {
        Properties p = clientProperties(port);
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", "true");
        p.put("mail.smtp.auth.mechanisms", mechanisms);
        return p;
    }

    private static void send(int port, String mechanisms, String user, String password, String subject) throws Exception {
        Session session = Session.getInstance(submission(port, mechanisms));
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(user));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress("bob@ext.test"));
        m.setSubject(subject);
        m.setText("sent through submission");
        Transport.send(m, user, password);
    }

    @Test
    void accountsSubmitFromAnywhereAndMetricsShowIt() throws Exception {
        int upstreamPort = RelayHarness.freePort();
        Wiser upstream = Wiser.port(upstreamPort);
        upstream.start();
        Path config = temp.resolve("config");
        Files.createDirectories(config);
        Files.write(config.resolve("postfix-accounts.cf"), List.of(
                "alice@one.test|{SHA512-CRYPT}" + Crypt.crypt("alice-pw", "$6$abcdefgh"),
                "bob@two.test|{BLF-CRYPT}" + OpenBSDBCrypt.generate("2y", "bob-pw".toCharArray(), new byte[16], 5)));
        Files.writeString(config.resolve("postfix-main.cf"), "myhostname = relay.test\nsmtpd_error_sleep_time = 0s\n");
        ServerSettings settings = new ServerSettings(new InetSocketAddress("127.0.0.1", 0), temp.resolve("spool"), config,
                new Env(Map.of("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort,
                        // loopback is not trusted: only authenticated clients may relay
                        "MTA_MYNETWORKS", "192.0.2.0/24")),
                List.of(), 25, new InetSocketAddress("127.0.0.1", 0))
                .withSubmission(new InetSocketAddress("127.0.0.1", 0), null);
        LinkedBlockingQueue<DeliveryEvent> events = new LinkedBlockingQueue<>();
        try (RelayServer relay = RelayServer.start(settings, events::add)) {
            int submissionPort = relay.extraPorts().get(0);
            send(submissionPort, "PLAIN", "alice@one.test", "alice-pw", "via plain");
            send(submissionPort, "LOGIN", "bob@two.test", "bob-pw", "via login");
            assertThatThrownBy(() -> send(submissionPort, "PLAIN", "alice@one.test", "wrong", "nope"))
                    .isInstanceOf(AuthenticationFailedException.class).hasMessageContaining("535 5.7.8");

            // Without AUTH the submission port refuses the transaction.
            try (Socket s = new Socket("127.0.0.1", submissionPort)) {
                s.setSoTimeout(5000);
                ListenerSecurityIT.readReply(s.getInputStream());
                s.getOutputStream().write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
                ListenerSecurityIT.readReply(s.getInputStream());
                SSLSocket tls = ListenerSecurityIT.startTls(s, submissionPort);
                tls.getOutputStream().write("EHLO x\r\nMAIL FROM:<x@one.test>\r\n".getBytes(StandardCharsets.US_ASCII));
                ListenerSecurityIT.readReply(tls.getInputStream());
                assertThat(ListenerSecurityIT.readReply(tls.getInputStream())).startsWith("530 5.7.0");
            }

            for (int i = 0; i < 2; i++) {
                assertThat(events.poll(WAIT.toSeconds(), TimeUnit.SECONDS).status())
                        .isEqualTo(DeliveryEvent.Status.SENT);
            }
            assertThat(upstream.getMessages()).extracting(m -> m.getEnvelopeSender())
                    .containsExactlyInAnyOrder("alice@one.test", "bob@two.test");

            HttpClient http = HttpClient.newHttpClient();
            String admin = "http://127.0.0.1:" + relay.adminPort();
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(admin + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            String text = metrics.body();
            assertThat(value(text, "mta_messages_received_total")).isEqualTo(2);
            assertThat(value(text, "mta_deliveries_total{class=\"\",relay=\"127.0.0.1\",status=\"sent\"}")).isEqualTo(2);
            assertThat(value(text, "mta_smtp_auth_failures_total")).isEqualTo(1);
            assertThat(value(text, "mta_smtp_sessions_total{direction=\"in\"}")).isGreaterThanOrEqualTo(4);
            assertThat(value(text, "mta_smtp_tls_sessions_total{direction=\"in\"}")).isGreaterThanOrEqualTo(3);
            assertThat(value(text, "mta_spool_fsync_seconds_count")).isEqualTo(2);
            assertThat(value(text, "mta_queue_messages{queue=\"deferred\"}")).isZero();
            assertThat(text).contains("mta_delivery_latency_seconds{quantile=\"0.5\"}", "mta_config_reloads_total{result=\"ok\"}")
                    .doesNotContain("alice-pw").doesNotContain("bob-pw");

            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(admin + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"status\": \"ok\"", "\"spool_writable\": true");

            // An unwritable spool turns health red.
            Path queue = temp.resolve("spool/queue");
            queue.toFile().setWritable(false);
            try {
                if (!Files.isWritable(queue)) { // root may write anyway
                    assertThat(http.send(HttpRequest.newBuilder(URI.create(admin + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
                }
            } finally {
                queue.toFile().setWritable(true);
            }
        } finally {
            upstream.stop();
        }
    }

    /** The value of one Prometheus sample line, by its exact name and labels. */
    static double value(String scrape, String sample) {
        Matcher m = Pattern.compile("^" + Pattern.quote(sample) + " (\\S+)$", Pattern.MULTILINE).matcher(scrape);
        assertThat(m.find()).as("sample " + sample + " in\n" + scrape).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
