package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;

/**
 * The same traffic through Debian's Postfix and through the relay (MTA_LOG_FORMAT=postfix), both
 * relaying to one upstream that takes some recipients, rejects one and defers one: pflogsumm's
 * report of the two logs agrees on the totals, the per-domain counts, the senders and recipients.
 */
class PflogsummComparisonIT {
    private static final Path PFLOGSUMM = Path.of("/usr/sbin/pflogsumm");
    private static final List<String> RECIPIENTS = List.of("ok1@ext.test", "ok2@ext.test", "nobody@ext.test", "later@ext.test",
            "ok3@other.test");

    @TempDir
    Path temp;

    @Test
    void pflogsummReportsTheSameForPostfixAndTheRelay() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/postfix")) && Files.isExecutable(PFLOGSUMM),
                "Debian's postfix and pflogsumm are needed; .ci/run installs them");
        assumeTrue("root".equals(System.getProperty("user.name")), "a private Postfix instance needs root");
        try (ScriptedSmtpServer upstream = PostfixLogFormatIT.refusingUpstream()) {
            String postfixLog;
            try (PrivatePostfix postfix = new PrivatePostfix(temp, temp.resolve("postfix"), RelayHarness.freePort(),
                    upstream.port(), null)) {
                send(postfix.port);
                Path log = postfix.dir.resolve("maillog");
                // ok1, ok2, ok3 and the bounce to alice sent; nobody bounced; later deferred.
                assertThat(MtaProcessIT.awaitLog(log, "status=sent", 4)).as(postfix.log()).isTrue();
                assertThat(MtaProcessIT.awaitLog(log, "status=deferred", 1)).as(postfix.log()).isTrue();
                postfixLog = postfix.log();
            }
            Path relayDir = Files.createDirectories(temp.resolve("relay"));
            Files.createDirectories(relayDir.resolve("config"));
            Files.write(relayDir.resolve("config/postfix-main.cf"), List.of("myhostname = relay.example.test"));
            Path log = relayDir.resolve("mail.log");
            int port = RelayHarness.freePort();
            Process relay = MtaProcessIT.mta(relayDir, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN", "off",
                    "MTA_LOG_FORMAT", "postfix", "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port()), "run")
                    .redirectOutput(log.toFile()).start();
            try {
                assertThat(MtaProcessIT.awaitLog(log, "outbound:", 1)).isTrue();
                send(port);
                assertThat(MtaProcessIT.awaitLog(log, "status=sent", 4)).as(Files.readString(log)).isTrue();
                assertThat(MtaProcessIT.awaitLog(log, "status=deferred", 1)).as(Files.readString(log)).isTrue();
            } finally {
                relay.destroy();
                relay.waitFor();
            }
            // Each message's lines, by the program that writes them, in the same order in both logs.
            for (String rcpt : List.of("ok1@ext.test", "nobody@ext.test", "later@ext.test")) {
                assertThat(programs(Files.readString(log), rcpt)).as(rcpt).isEqualTo(programs(postfixLog, rcpt));
            }
            assertThat(programs(postfixLog, "nobody@ext.test"))
                    .containsExactly("smtpd", "cleanup", "qmgr", "smtp", "bounce", "qmgr");
            Path postfixCopy = temp.resolve("postfix.log");
            Files.writeString(postfixCopy, postfixLog);
            String fromPostfix = pflogsumm(postfixCopy);
            String fromRelay = pflogsumm(log);
            System.out.println("--- pflogsumm of Postfix's log\n" + fromPostfix + "\n--- pflogsumm of the relay's log\n" + fromRelay);

            for (String word : List.of("received", "delivered", "deferred", "bounced", "rejected", "senders", "recipients")) {
                assertThat(PostfixLogFormatIT.count(fromRelay, word)).as(word + "\n" + fromPostfix + "\n" + fromRelay)
                        .isEqualTo(PostfixLogFormatIT.count(fromPostfix, word));
            }
            assertThat(PostfixLogFormatIT.count(fromPostfix, "delivered")).isEqualTo(4);
            assertThat(PostfixLogFormatIT.count(fromPostfix, "bounced")).isEqualTo(1);
            // One SMTP session each, timed from its connect to its disconnect line.
            assertThat(PostfixLogFormatIT.count(fromRelay, "connections")).isEqualTo(PostfixLogFormatIT.count(fromPostfix, "connections"))
                    .isEqualTo(1);
            // Per domain: messages sent and deferrals (bytes differ: each adds its own Received: line and bounce text).
            assertThat(perDomain(fromRelay)).isEqualTo(perDomain(fromPostfix))
                    .containsExactly("ext.test sent=2 defers=1", "one.test sent=1 defers=0", "other.test sent=1 defers=0");
            for (String section : List.of("Senders by message count", "Recipients by message count", "message deferral detail",
                    "message bounce detail (by relay)")) {
                assertThat(section(fromRelay, section)).as(section).isEqualTo(section(fromPostfix, section)).isNotEmpty();
            }
        }
    }

    private static void send(int port) throws Exception {
        try (SmtpTestClient c = new SmtpTestClient(port)) {
            assertThat(c.command("EHLO app.local.test")).startsWith("250");
            for (String rcpt : RECIPIENTS) {
                String id = rcpt.replace('@', '.') + "@one.test";
                assertThat(c.send("alice@one.test", rcpt, "Message-ID: <" + id + ">\r\nFrom: alice@one.test\r\nTo: " + rcpt
                        + "\r\nSubject: to " + rcpt + "\r\n\r\nbody\r\n")).startsWith("250");
            }
        }
    }

    /** The programs ({@code smtpd}, {@code qmgr}, ...) of the lines of the message to {@code rcpt}, in log order. */
    private static List<String> programs(String log, String rcpt) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\]: ([0-9A-Za-z]+): to=<" + rcpt + ">").matcher(log);
        assertThat(m.find()).as(rcpt + " in\n" + log).isTrue();
        String id = m.group(1);
        return log.lines().filter(l -> l.contains("]: " + id + ": "))
                .map(l -> l.replaceAll("^.*? postfix/([a-z]+)\\[.*$", "$1")).toList();
    }

    /** "Host/Domain Summary: Message Delivery" as domain, sent count and deferrals. */
    private static List<String> perDomain(String report) {
        return section(report, "Host/Domain Summary: Message Delivery").stream()
                .map(l -> l.trim().split("\\s+"))
                .filter(f -> f.length >= 6 && f[0].matches("\\d+"))
                .map(f -> f[f.length - 1] + " sent=" + f[0] + " defers=" + f[2])
                .toList();
    }

    /** The lines of a report section, without its title, underline and blank lines. */
    private static List<String> section(String report, String title) {
        List<String> lines = report.lines().toList();
        int start = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().equals(title)) {
                start = i + 2;
                break;
            }
        }
        assertThat(start).as("section '" + title + "' in\n" + report).isPositive();
        List<String> body = new java.util.ArrayList<>();
        for (int i = start; i < lines.size() && !lines.get(i).isBlank(); i++) {
            body.add(lines.get(i));
        }
        return body;
    }

    private static String pflogsumm(Path log) throws Exception {
        Process p = new ProcessBuilder(PFLOGSUMM.toString(), "--smtpd-stats", log.toString()).redirectErrorStream(true).start();
        String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(report).isZero();
        return report;
    }
}
