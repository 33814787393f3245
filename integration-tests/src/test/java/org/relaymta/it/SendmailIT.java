package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/** {@code mta sendmail} as cron and PHP call it: through the running relay, or into its spool. */
class SendmailIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String MESSAGE = "To: a@ext.test, \"Bee\" <b@ext.test>\nBcc: hidden@ext.test\n"
            + "Subject: nightly report\n\nall good\n.a line with a dot\n";

    @TempDir
    Path temp;

    private MtaProcessIT.Result sendmail(Map<String, String> env, String stdin, String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = "sendmail";
        System.arraycopy(args, 0, command, 1, args.length);
        Process p = MtaProcessIT.mta(temp, env, command).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new MtaProcessIT.Result(p.exitValue(), out);
    }

    @Test
    void dashTThroughTheRunningRelayTakesToCcBccAndRemovesBcc() throws Exception {
        int port = RelayHarness.freePort();
        Wiser upstream = Wiser.port(port);
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start()) {
            MtaProcessIT.Result r = sendmail(Map.of("MTA_LISTEN", "127.0.0.1:" + relay.port()), MESSAGE, "-t", "-i",
                    "-f", "cron@one.test", "-FCron Daemon", "-oem");
            assertThat(r.exit()).as(r.stdout()).isZero();
            for (int i = 0; i < 3; i++) {
                assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            }
            assertThat(upstream.getMessages()).extracting(WiserMessage::getEnvelopeReceiver)
                    .containsExactlyInAnyOrder("a@ext.test", "b@ext.test", "hidden@ext.test");
            WiserMessage m = upstream.getMessages().get(0);
            assertThat(m.getEnvelopeSender()).isEqualTo("cron@one.test");
            String data = new String(m.getData(), StandardCharsets.UTF_8);
            assertThat(data).doesNotContain("Bcc:", "hidden@").contains("From: Cron Daemon <cron@one.test>",
                    "Subject: nightly report", "\r\n.a line with a dot\r\n");
        } finally {
            upstream.stop();
        }
    }

    @Test
    void withoutARelayTheMessageWaitsInTheSpoolAndIsSentAtItsStart() throws Exception {
        int port = RelayHarness.freePort();
        Wiser upstream = Wiser.port(port);
        upstream.start();
        try {
            Path spool = temp.resolve("spool");
            MtaProcessIT.Result r = sendmail(Map.of("MTA_LISTEN", "127.0.0.1:" + RelayHarness.freePort(),
                    "MTA_SPOOL_DIR", spool.toString()), "Subject: queued offline\n\nbody\n.\nnot part of it\n",
                    "-f", "app@one.test", "x@ext.test");
            assertThat(r.exit()).as(r.stdout()).isZero();
            assertThat(r.stdout()).contains("no relay answers", "queued as");
            try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start()) {
                assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            }
            String data = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(data).contains("Subject: queued offline", "body").doesNotContain("not part of it");
        } finally {
            upstream.stop();
        }
    }

    @Test
    void badUsageAndMissingRecipientsExitWithSysexitsCodes() throws Exception {
        Map<String, String> env = Map.of("MTA_LISTEN", "127.0.0.1:" + RelayHarness.freePort(),
                "MTA_SPOOL_DIR", temp.resolve("spool").toString());
        MtaProcessIT.Result mode = sendmail(env, "", "-bt");
        assertThat(mode.exit()).isEqualTo(64);
        assertThat(mode.stdout()).contains("mode -bt is not supported");
        MtaProcessIT.Result noRelay = sendmail(env, "EHLO x\r\n", "-bs");
        assertThat(noRelay.exit()).isEqualTo(75);
        assertThat(noRelay.stdout()).startsWith("421 4.3.0 no relay answers");
        MtaProcessIT.Result none = sendmail(env, "Subject: x\n\ny\n", "-t");
        assertThat(none.exit()).isEqualTo(65);
        assertThat(none.stdout()).contains("no recipient addresses in the message header");
        assertThat(sendmail(env, "x\n", "-f").exit()).isEqualTo(64);
        assertThat(List.of(temp.resolve("spool").toFile().list() == null ? new String[0]
                : temp.resolve("spool").toFile().list())).doesNotContain("queue");
    }

    @Test
    void dashBsSpeaksSmtpOnStdinAndStdoutThroughTheRelay() throws Exception {
        int port = RelayHarness.freePort();
        Wiser upstream = Wiser.port(port);
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start()) {
            String session = "EHLO script.test\r\nMAIL FROM:<script@one.test>\r\nRCPT TO:<bs@ext.test>\r\nDATA\r\n"
                    + "Subject: over -bs\r\n\r\nhello\r\n.\r\nQUIT\r\n";
            MtaProcessIT.Result r = sendmail(Map.of("MTA_LISTEN", "127.0.0.1:" + relay.port()), session, "-bs");
            assertThat(r.exit()).as(r.stdout()).isZero();
            assertThat(r.stdout()).startsWith("220 ").contains("250 2.0.0 Ok: queued as ", "221 ");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(upstream.getMessages()).singleElement().extracting(WiserMessage::getEnvelopeReceiver)
                    .isEqualTo("bs@ext.test");
        } finally {
            upstream.stop();
        }
    }

    /**
     * The PHP mail() -f class of attack: an address or display name with CR/LF must never become
     * SMTP commands or header lines. Each is refused with EX_DATAERR and a message that shows the
     * bad bytes escaped; nothing is queued, through the relay or into the spool. A clean message
     * sent afterwards is the only one that arrives.
     */
    @Test
    void lineBreaksInAddressesAndTheFullNameAreRefusedNotTurnedIntoSmtpCommands() throws Exception {
        int port = RelayHarness.freePort();
        Wiser upstream = Wiser.port(port);
        upstream.start();
        String smuggled = "a@d.test>\r\nRCPT TO:<victim@ext.test>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n.\r\n"
                + "MAIL FROM:<a@d.test";
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).start()) {
            Map<String, String> env = Map.of("MTA_LISTEN", "127.0.0.1:" + relay.port(), "MTA_CONFIG_DIR", relay.configDir.toString());
            String legit = "Subject: legit\n\nlegit\n";

            MtaProcessIT.Result sender = sendmail(env, legit, "-f", smuggled, "legit@ext.test");
            assertThat(sender.exit()).as(sender.stdout()).isEqualTo(65);
            assertThat(sender.stdout()).contains("mta sendmail: invalid sender address 'a@d.test>\\r\\nRCPT TO:<victim@ext.test>")
                    .contains("control character \\r at position 10").doesNotContain("\r");

            MtaProcessIT.Result rcpt = sendmail(env, legit, "-f", "a@d.test", "legit@ext.test>\r\nRCPT TO:<victim@ext.test");
            assertThat(rcpt.exit()).as(rcpt.stdout()).isEqualTo(65);
            assertThat(rcpt.stdout()).contains("invalid recipient 'legit@ext.test>\\r\\nRCPT TO:<victim@ext.test'");

            MtaProcessIT.Result params = sendmail(env, legit, "-f", "a@d.test> NOTIFY=NEVER", "legit@ext.test");
            assertThat(params.exit()).as(params.stdout()).isEqualTo(65);
            assertThat(params.stdout()).contains("invalid sender address 'a@d.test> NOTIFY=NEVER'");

            MtaProcessIT.Result name = sendmail(env, legit, "-f", "a@d.test", "-F", "Eve\r\nBcc: x@ext.test", "legit@ext.test");
            assertThat(name.exit()).as(name.stdout()).isEqualTo(65);
            assertThat(name.stdout()).contains("invalid full name (-F) 'Eve\\r\\nBcc: x@ext.test'");

            MtaProcessIT.Result header = sendmail(env, "To: good@ext.test, bad@@ext.test\nSubject: x\n\nx\n", "-t", "-f", "a@d.test");
            assertThat(header.exit()).as(header.stdout()).isEqualTo(65);
            assertThat(relay.server.engine().queue().size()).as("nothing queued by the refused calls").isZero();

            // A clean call goes through: a non-ASCII display name is encoded, a bare local part gets @myhostname.
            MtaProcessIT.Result clean = sendmail(env, "Subject: clean\n\nclean\n", "-f", "app@d.test", "-F", "Jürgen Ö. Müller",
                    "legit@ext.test", "root");
            assertThat(clean.exit()).as(clean.stdout()).isZero();
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(upstream.getMessages()).extracting(WiserMessage::getEnvelopeReceiver)
                    .containsExactlyInAnyOrder("legit@ext.test", "root@relay.test");
            String data = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(data).contains("From: =?UTF-8?").contains("<app@d.test>").doesNotContain("forged", "Bcc:");
        } finally {
            upstream.stop();
        }
    }

    @Test
    void theOfflinePathRefusesTheSameInjection() throws Exception {
        Path spool = temp.resolve("spool");
        Map<String, String> env = Map.of("MTA_LISTEN", "127.0.0.1:" + RelayHarness.freePort(), "MTA_SPOOL_DIR", spool.toString());
        MtaProcessIT.Result r = sendmail(env, "Subject: x\n\nx\n", "-f", "a@d.test>\r\nRCPT TO:<victim@ext.test", "legit@ext.test");
        assertThat(r.exit()).as(r.stdout()).isEqualTo(65);
        assertThat(r.stdout()).contains("invalid sender address").doesNotContain("queued as");
        assertThat(Files.exists(spool.resolve("queue"))).isFalse();
    }

    @Test
    void aMessageOverTheSizeLimitIsRefusedBeforeItIsAllInMemory() throws Exception {
        Files.createDirectories(temp.resolve("config"));
        Files.writeString(temp.resolve("config/postfix-main.cf"), "message_size_limit = 1000\n");
        Map<String, String> env = Map.of("MTA_LISTEN", "127.0.0.1:" + RelayHarness.freePort(),
                "MTA_SPOOL_DIR", temp.resolve("spool").toString(), "MTA_CONFIG_DIR", temp.resolve("config").toString());
        MtaProcessIT.Result r = sendmail(env, "Subject: big\n\n" + "x".repeat(2000) + "\n", "-i", "a@ext.test");
        assertThat(r.exit()).as(r.stdout()).isEqualTo(65);
        assertThat(r.stdout()).contains("larger than message_size_limit (1000 bytes)");
    }
}
