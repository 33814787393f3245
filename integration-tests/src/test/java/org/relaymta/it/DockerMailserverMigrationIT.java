package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * The migration checklist of docs/migration-docker-mailserver.md against Debian's real Postfix,
 * configured as docker-mailserver's relay.sh leaves it. With the checklist applied (RELAY_HOST and its
 * sender map removed, DEFAULT_RELAY_HOST pointing at this relay), mail of a local sender domain and
 * foreign mail both pass through the relay to the smarthost. Without it (RELAY_HOST kept), the local
 * domain's mail goes around the relay, straight to the smarthost: what the checklist prevents.
 */
class DockerMailserverMigrationIT {
    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path temp;

    /** A private Postfix instance (its own config, queue and log) on {@code port}, relaying as told. */
    private final class Postfix implements AutoCloseable {
        final Path dir;
        final int port;

        Postfix(Path dir, int port, int relayPort, String senderMapLine) throws Exception {
            this.dir = dir;
            this.port = port;
            // The postfix user must reach its data directory: the test's own directory is owner-only.
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            Path etc = Files.createDirectories(dir.resolve("etc"));
            Path data = Files.createDirectories(dir.resolve("data"));
            Files.createDirectories(dir.resolve("spool"));
            Files.write(etc.resolve("relaymap"), senderMapLine == null ? List.of() : List.of(senderMapLine));
            // What docker-mailserver's relay.sh leaves: relayhost from DEFAULT_RELAY_HOST, the sender map it
            // fills from RELAY_HOST, SASL off without RELAY_USER.
            Files.write(etc.resolve("main.cf"), List.of("compatibility_level = 3.6", "queue_directory = " + dir.resolve("spool"),
                    "data_directory = " + data, "mail_owner = postfix", "setgid_group = postdrop",
                    "myhostname = mail.local.test", "mydomain = local.test", "mydestination =", "inet_interfaces = 127.0.0.1",
                    "inet_protocols = ipv4", "mynetworks = 127.0.0.0/8", "relayhost = [127.0.0.1]:" + relayPort,
                    "sender_dependent_relayhost_maps = texthash:" + etc.resolve("relaymap"),
                    "smtp_sasl_auth_enable = no", "smtp_tls_security_level = may",
                    "maillog_file = " + dir.resolve("maillog"), "maillog_file_prefixes = " + dir, "syslog_name = dms-test"));
            String master = Files.readString(Path.of("/etc/postfix/master.cf"));
            master = master.replaceFirst("(?m)^smtp\\s+inet\\s+n\\s+-\\s+\\S+\\s+-\\s+-\\s+smtpd",
                    "127.0.0.1:" + port + " inet n - n - - smtpd");
            // No chroot: the private instance has no copy of /etc in its queue directory.
            Matcher m = Pattern.compile("(?m)^(\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+)y(\\s)").matcher(master);
            master = m.replaceAll("$1n$2");
            Files.writeString(etc.resolve("master.cf"), master);
            run("chown", "postfix", data.toString());
            run("postfix", "-c", etc.toString(), "start");
        }

        void run(String... command) throws Exception {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(String.join(" ", command) + ": " + out + log()).isZero();
        }

        String log() throws IOException {
            Path f = dir.resolve("maillog");
            return Files.exists(f) ? Files.readString(f) : "";
        }

        void send(String from, String to) throws Exception {
            try (SmtpTestClient c = new SmtpTestClient(port)) {
                assertThat(c.command("EHLO app.local.test")).startsWith("250");
                assertThat(c.send(from, to, "Subject: from " + from + "\r\n\r\nhello\r\n")).as(log()).startsWith("250");
            }
        }

        @Override
        public void close() throws Exception {
            new ProcessBuilder("postfix", "-c", dir.resolve("etc").toString(), "stop").redirectErrorStream(true).start()
                    .waitFor(60, TimeUnit.SECONDS);
        }
    }

    private static void assumePostfix() {
        assumeTrue(Files.isExecutable(POSTFIX), "Debian's postfix is needed; .ci/run installs it");
        assumeTrue("root".equals(System.getProperty("user.name")), "a private Postfix instance needs root");
    }

    private static String data(WiserMessage m) {
        return new String(m.getData(), StandardCharsets.UTF_8);
    }

    @Test
    void withTheChecklistAppliedLocalAndForeignMailBothPassThroughTheRelay() throws Exception {
        assumePostfix();
        int smarthostPort = RelayHarness.freePort();
        Wiser smarthost = Wiser.port(smarthostPort);
        smarthost.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + smarthostPort)
                .start();
             Postfix dms = new Postfix(temp.resolve("dms"), RelayHarness.freePort(), relay.port(), null)) {
            dms.send("alice@local.test", "bob@ext.test");
            dms.send("newsletter@foreign.test", "carol@ext.test");
            await().atMost(WAIT).until(() -> smarthost.getMessages().size() == 2);
            for (WiserMessage m : smarthost.getMessages()) {
                assertThat(data(m)).as("passed through the relay").contains("by relay.test");
            }
            assertThat(smarthost.getMessages()).extracting(WiserMessage::getEnvelopeSender)
                    .containsExactlyInAnyOrder("alice@local.test", "newsletter@foreign.test");
        } finally {
            smarthost.stop();
        }
    }

    @Test
    void keepingRelayHostOnTheDockerMailserverSideSendsLocalMailAroundTheRelay() throws Exception {
        assumePostfix();
        int smarthostPort = RelayHarness.freePort();
        Wiser smarthost = Wiser.port(smarthostPort);
        smarthost.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + smarthostPort)
                .start();
             Postfix dms = new Postfix(temp.resolve("dms"), RelayHarness.freePort(), relay.port(),
                     "@local.test [127.0.0.1]:" + smarthostPort)) {
            dms.send("alice@local.test", "bob@ext.test");
            dms.send("newsletter@foreign.test", "carol@ext.test");
            await().atMost(WAIT).until(() -> smarthost.getMessages().size() == 2);
            for (WiserMessage m : smarthost.getMessages()) {
                boolean viaRelay = data(m).contains("by relay.test");
                assertThat(viaRelay).as(m.getEnvelopeSender()).isEqualTo(m.getEnvelopeSender().endsWith("@foreign.test"));
            }
        } finally {
            smarthost.stop();
        }
    }
}
