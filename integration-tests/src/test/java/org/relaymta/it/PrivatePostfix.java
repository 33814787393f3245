package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.relaymta.testing.SmtpTestClient;

/** A private Postfix instance (its own config, queue and log) on {@code port}, relaying as told. */
final class PrivatePostfix implements AutoCloseable {
    final Path dir;
    final int port;

    PrivatePostfix(Path temp, Path dir, int port, int relayPort, String senderMapLine) throws Exception {
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
                "maillog_file = " + dir.resolve("maillog"), "maillog_file_prefixes = " + dir, "syslog_name = postfix"));
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
