package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.apache.commons.codec.digest.Crypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * One tenant must not send as another on the submission port and spend that tenant's relay host,
 * credentials, quotas and reputation (docker-mailserver's SPOOF_PROTECTION, Postfix's
 * reject_authenticated_sender_login_mismatch). The packaged relay runs as a process with two
 * tenants, each with its own relay host in postfix-relaymap.cf and credentials in
 * postfix-sasl-password.cf; the client is a raw socket that speaks STARTTLS and AUTH as an attacker would.
 */
class SpoofProtectionIT {
    @TempDir
    Path temp;

    private static final class Client implements AutoCloseable {
        final SSLSocket tls;
        final InputStream in;
        final OutputStream out;

        Client(int port) throws Exception {
            Socket plain = new Socket("127.0.0.1", port);
            plain.setSoTimeout(10_000);
            ListenerSecurityIT.readReply(plain.getInputStream());
            plain.getOutputStream().write("EHLO tenant.test\r\n".getBytes(StandardCharsets.US_ASCII));
            ListenerSecurityIT.readReply(plain.getInputStream());
            tls = ListenerSecurityIT.startTls(plain, port);
            in = tls.getInputStream();
            out = tls.getOutputStream();
            command("EHLO tenant.test");
        }

        String command(String line) throws Exception {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return ListenerSecurityIT.readReply(in);
        }

        String plain(String authzid, String user, String password) throws Exception {
            return command("AUTH PLAIN " + Base64.getEncoder().encodeToString((authzid + "\0" + user + "\0" + password)
                    .getBytes(StandardCharsets.UTF_8)));
        }

        @Override
        public void close() throws Exception {
            tls.close();
        }
    }

    @Test
    void aSubmissionUserCannotSendAsAnotherTenantNorActForAnotherIdentity() throws Exception {
        Wiser hopA = Wiser.port(RelayHarness.freePort());
        Wiser hopB = Wiser.port(RelayHarness.freePort());
        hopA.start();
        hopB.start();
        Path config = Files.createDirectories(temp.resolve("config"));
        Files.write(config.resolve("postfix-accounts.cf"), List.of(
                "alice@a.test|{SHA512-CRYPT}" + Crypt.crypt("alice-pw", "$6$abcdefgh"),
                "bob@b.test|{SHA512-CRYPT}" + Crypt.crypt("bob-pw", "$6$hgfedcba")));
        Files.write(config.resolve("postfix-relaymap.cf"), List.of(
                "@a.test [127.0.0.1]:" + hopA.getServer().getPortAllocated(),
                "@b.test [127.0.0.1]:" + hopB.getServer().getPortAllocated()));
        Files.write(config.resolve("postfix-sasl-password.cf"), List.of("@a.test tenant-a:a-secret", "@b.test tenant-b:b-secret"));
        Files.write(config.resolve("postfix-main.cf"), List.of("myhostname = relay.test", "smtp_tls_security_level = may",
                "smtpd_error_sleep_time = 0s"));
        Path log = temp.resolve("relay.log");
        int port = RelayHarness.freePort();
        int submission = RelayHarness.freePort();
        Process relay = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN", "off",
                "MTA_SUBMISSION_LISTEN", "127.0.0.1:" + submission, "MTA_LOG_FORMAT", "postfix"), "run")
                .redirectOutput(log.toFile()).start();
        try {
            assertThat(MtaProcessIT.awaitLog(log, "outbound:", 1)).as("the relay starts").isTrue();
            try (Client c = new Client(submission)) {
                assertThat(c.plain("bob@b.test", "alice@a.test", "alice-pw"))
                        .as("AUTH PLAIN acting for another identity").startsWith("535 5.7.8");
                assertThat(c.plain("", "alice@a.test", "alice-pw")).startsWith("235");
                assertThat(c.command("MAIL FROM:<ceo@b.test>"))
                        .isEqualTo("553 5.7.1 <ceo@b.test>: Sender address rejected: not owned by user alice@a.test");
                assertThat(c.command("MAIL FROM:<alice@a.test>")).startsWith("250");
                assertThat(c.command("RCPT TO:<someone@ext.test>")).startsWith("250");
                assertThat(c.command("DATA")).startsWith("354");
                assertThat(c.command("Subject: mine\r\n\r\nfrom alice\r\n.")).startsWith("250 2.0.0 Ok: queued as");
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (hopA.getMessages().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(hopA.getMessages()).singleElement().extracting(WiserMessage::getEnvelopeSender).isEqualTo("alice@a.test");
            assertThat(hopB.getMessages()).as("b.test's relay host got nothing").isEmpty();
            String data = new String(hopA.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(data).containsPattern("Received: from tenant\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\r\n"
                    + "\t\\(Authenticated sender: alice@a\\.test\\)\r\n\tby relay\\.test \\(Relay MTA\\) with ESMTPSA id ");
            assertThat(MtaProcessIT.awaitLog(log, "status=sent", 1)).isTrue();
        } finally {
            relay.destroy();
            relay.waitFor();
            hopA.stop();
            hopB.stop();
        }
        String text = Files.readString(log);
        assertThat(text).containsPattern("postfix/smtpd\\[\\d+\\]: NOQUEUE: reject: MAIL from unknown\\[127\\.0\\.0\\.1\\]: 553 5\\.7\\.1 "
                + Pattern.quote("<ceo@b.test>: Sender address rejected: not owned by user alice@a.test; from=<ceo@b.test> proto=ESMTP helo=<tenant.test>"));
        assertThat(text).containsPattern("postfix/smtpd\\[\\d+\\]: [0-9A-F]{16}: client=unknown\\[127\\.0\\.0\\.1\\], sasl_method=PLAIN, "
                + "sasl_username=alice@a\\.test");
        assertThat(text).contains("SASL PLAIN authentication failed: authorization identity 'bob@b.test'")
                .doesNotContain("alice-pw", "a-secret", "b-secret");
    }

}
