package org.relaymta.it;

import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonParser;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MTA_LOG_FORMAT=postfix is read by Debian's pflogsumm as a Postfix log (CI installs it; skipped elsewhere without it). */
class PostfixLogFormatIT {
    @TempDir
    Path temp;

    private static final Path PFLOGSUMM = Path.of("/usr/sbin/pflogsumm");

    @Test
    void pflogsummCountsReceivedDeliveredDeferredAndBouncedMail() throws Exception {
        if (System.getenv("CI") == null) {
            assumeTrue(Files.isExecutable(PFLOGSUMM), "Debian's pflogsumm is not installed: apt-get install pflogsumm");
        }
        Files.createDirectories(temp.resolve("config"));
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 2.1.5 ok")) {
            try (ScriptedSmtpServer refusing = refusingUpstream()) {
                // Bounces (null sender) go to the accepting upstream; everything else meets the refusing one.
                Files.write(temp.resolve("config/postfix-relaymap.cf"), List.of("<> [127.0.0.1]:" + upstream.port()));
                Files.write(temp.resolve("config/postfix-main.cf"), List.of("myhostname = relay.example.test"));
                Path log = temp.resolve("mail.log");
                int port = RelayHarness.freePort();
                Process relay = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN", "off",
                        "MTA_LOG_FORMAT", "postfix", "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + refusing.port()), "run")
                        .redirectOutput(log.toFile()).start();
                try {
                    assertThat(MtaProcessIT.awaitLog(log, "outbound:", 1)).isTrue();
                    try (SmtpTestClient c = new SmtpTestClient(port)) {
                        c.command("EHLO client.test");
                        for (String rcpt : List.of("ok1@ext.test", "ok2@ext.test", "nobody@ext.test", "later@ext.test")) {
                            assertThat(c.send("alice@one.test", rcpt, "Message-ID: <" + rcpt.replace("@ext.test", "-id@one.test")
                                    + ">\r\nSubject: to " + rcpt + "\r\n\r\nbody\r\n")).startsWith("250");
                        }
                    }
                    // ok1, ok2 and the bounce to alice sent; nobody bounced; later deferred.
                    assertThat(MtaProcessIT.awaitLog(log, "status=sent", 3)).as(Files.readString(log)).isTrue();
                    assertThat(MtaProcessIT.awaitLog(log, "status=bounced", 1)).isTrue();
                    assertThat(MtaProcessIT.awaitLog(log, "status=deferred", 1)).isTrue();
                } finally {
                    relay.destroy();
                    relay.waitFor();
                }
                String text = Files.readString(log);
                assertThat(text).containsPattern("(?m)^[A-Z][a-z]{2} [ 1-3][0-9] \\d{2}:\\d{2}:\\d{2} relay postfix/smtpd\\[\\d+\\]: "
                        + "[0-9A-F]{16}: client=unknown\\[127\\.0\\.0\\.1\\]$");
                assertThat(text).containsPattern("postfix/qmgr\\[\\d+\\]: [0-9A-F]{16}: from=<alice@one.test>, size=\\d+, nrcpt=1");
                assertThat(text).containsPattern("postfix/smtp\\[\\d+\\]: [0-9A-F]{16}: to=<ok1@ext.test>, relay=");
                assertThat(text).containsPattern("postfix/qmgr\\[\\d+\\]: [0-9A-F]{16}: removed");
                // One message's lines in Postfix's order: smtpd, cleanup, qmgr from, smtp status, qmgr removed.
                Matcher sent = Pattern.compile("([0-9A-F]{16}): to=<ok1@ext.test>, relay=").matcher(text);
                assertThat(sent.find()).isTrue();
                String id = sent.group(1);
                List<String> mine = text.lines().filter(l -> l.contains(" " + id + ": ")).map(l -> l.replaceAll("^.*?postfix/", ""))
                        .toList();
                assertThat(mine).hasSize(5);
                assertThat(mine.get(0)).matches("smtpd\\[\\d+\\]: " + id + ": client=unknown\\[127\\.0\\.0\\.1\\]");
                assertThat(mine.get(1)).matches("cleanup\\[\\d+\\]: " + id + ": message-id=<ok1-id@one\\.test>");
                assertThat(mine.get(2)).matches("qmgr\\[\\d+\\]: " + id + ": from=<alice@one\\.test>, size=\\d+, nrcpt=1 \\(queue active\\)");
                assertThat(mine.get(3)).startsWith("smtp[").contains(id + ": to=<ok1@ext.test>", "status=sent");
                assertThat(mine.get(4)).matches("qmgr\\[\\d+\\]: " + id + ": removed");

                Process summary = new ProcessBuilder(PFLOGSUMM.toString(), log.toString()).redirectErrorStream(true).start();
                String report = new String(summary.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(summary.waitFor()).isZero();
                assertThat(count(report, "received")).as(report).isEqualTo(4);
                assertThat(count(report, "delivered")).isEqualTo(3);
                assertThat(count(report, "deferred")).isEqualTo(1);
                assertThat(count(report, "bounced")).isEqualTo(1);
            }
        }
    }

    /** An upstream that rejects {@code nobody@} (550) and defers {@code later@} (451), and takes the rest. */
    static ScriptedSmtpServer refusingUpstream() throws java.io.IOException {
        return new ScriptedSmtpServer(line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            if (cmd.startsWith("EHLO")) {
                return "250 scripted.test";
            }
            if (cmd.startsWith("RCPT TO:<NOBODY@")) {
                return "550 5.1.1 <nobody@ext.test>: Recipient address rejected";
            }
            if (cmd.startsWith("RCPT TO:<LATER@")) {
                return "451 4.3.0 try again later";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 ok";
        });
    }

    /** The number before a word in pflogsumm's "Grand Totals". */
    static int count(String report, String word) {
        Matcher m = Pattern.compile("(?m)^\\s+(\\d+)\\s+" + word + "\\b").matcher(report);
        assertThat(m.find()).as("'" + word + "' in the report").isTrue();
        return Integer.parseInt(m.group(1));
    }


    @Test
    void theJsonLogIsOneJsonObjectPerLineFromTheFirst() throws Exception {
        Files.createDirectories(temp.resolve("config"));
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 2.1.5 ok")) {
            Path log = temp.resolve("json.log");
            int port = RelayHarness.freePort();
            Process relay = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN", "off",
                    "MTA_LOG_FORMAT", "json", "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port()), "run")
                    .redirectOutput(log.toFile()).start();
            try {
                assertThat(MtaProcessIT.awaitLog(log, "outbound:", 1)).isTrue();
                try (SmtpTestClient c = new SmtpTestClient(port)) {
                    c.command("EHLO client.test");
                    assertThat(c.send("alice@one.test", "bob@ext.test", "Subject: json\r\n\r\nbody\r\n")).startsWith("250");
                }
                assertThat(MtaProcessIT.awaitLog(log, "status=sent", 1)).isTrue();
            } finally {
                relay.destroy();
                relay.waitFor();
            }
            List<String> lines = Files.readAllLines(log);
            assertThat(lines).isNotEmpty();
            for (String line : lines) {
                assertThat(JsonParser.parseString(line).isJsonObject()).as(line).isTrue();
            }
            assertThat(lines).anyMatch(l -> JsonParser.parseString(l).getAsJsonObject().get("message").getAsString()
                    .startsWith("mta ") && l.contains("listening on"));
        }
    }
}
