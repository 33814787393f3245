package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.queue.MessageRejectedException;
import org.relaymta.core.queue.QueueState;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * smtpd_milters and non_smtpd_milters with real milters: a test milter written with Debian's
 * python3-milter (pymilter) that rejects, tempfails, discards, quarantines, adds and changes headers,
 * replaces the body and adds recipients; Debian's opendkim signing as docker-mailserver runs it;
 * and a milter that is down, under milter_default_action. {@code .ci/run} installs the packages.
 */
class MilterIT {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path OPENDKIM = Path.of("/usr/sbin/opendkim");
    private static final String TEST_MILTER = """
            import sys, Milter
            class T(Milter.Base):
                def __init__(self):
                    self.subject = ''
                    self.rcpts = []
                def envrcpt(self, to, *params):
                    if 'refused' in to:
                        self.setreply('550', '5.1.1', 'no such user here')
                        return Milter.REJECT
                    self.rcpts.append(to)
                    return Milter.CONTINUE
                def header(self, name, value):
                    if name.lower() == 'subject':
                        self.subject = value
                    return Milter.CONTINUE
                def eom(self):
                    s = self.subject
                    if 'reject me' in s:
                        self.setreply('550', '5.7.1', 'Rejected by the test milter')
                        return Milter.REJECT
                    if 'try later' in s:
                        return Milter.TEMPFAIL
                    if 'drop me' in s:
                        return Milter.DISCARD
                    self.addheader('X-Test-Milter', 'seen %d recipients' % len(self.rcpts))
                    if 'rewrite' in s:
                        self.replacebody(b'replaced body\\r\\n')
                    if 'change' in s:
                        self.chgheader('Subject', 1, 'changed by milter')
                    if 'copy' in s:
                        self.addrcpt('<copy@example.org>')
                    if 'quarantine' in s:
                        self.quarantine('looks odd')
                    return Milter.ACCEPT
            Milter.factory = T
            Milter.set_flags(Milter.ADDHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGHDRS | Milter.QUARANTINE)
            print('ready', flush=True)
            Milter.runmilter('testmilter', 'inet:%s@127.0.0.1' % sys.argv[1], 240)
            """;

    @TempDir
    Path temp;

    static boolean available(String module) throws Exception {
        if (!Files.isExecutable(PYTHON)) {
            return false;
        }
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import " + module).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }

    private Process startTestMilter(int port) throws Exception {
        Path script = temp.resolve("testmilter.py");
        Files.writeString(script, TEST_MILTER);
        Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), String.valueOf(port)).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        awaitListening(port);
        return p;
    }

    static void awaitListening(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nothing listens on " + port);
    }

    private static String message(String subject) {
        return "From: app@example.com\r\nTo: user@example.org\r\nSubject: " + subject + "\r\n\r\noriginal body\r\n";
    }

    private static void await(Wiser upstream, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (upstream.getMessages().size() < count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(upstream.getMessages()).hasSize(count);
    }

    private static String send(SmtpTestClient c, String subject, String... rcpts) throws Exception {
        assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
        for (String r : rcpts) {
            assertThat(c.command("RCPT TO:<" + r + ">")).startsWith("250");
        }
        return c.data(message(subject).getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void aMilterRejectsTempfailsDiscardsQuarantinesAndRewritesTheMessage() throws Exception {
        assumeTrue(available("Milter"), "python3-milter (Debian) is needed; .ci/run installs it");
        int milterPort = RelayHarness.freePort();
        Process milter = startTestMilter(milterPort);
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp)) {
            relay.mainCf("smtpd_milters = inet:127.0.0.1:" + milterPort)
                    .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
            try (SmtpTestClient c = relay.client()) {
                assertThat(send(c, "please reject me", "user@example.org")).isEqualTo("550 5.7.1 Rejected by the test milter");
                assertThat(send(c, "try later", "user@example.org")).startsWith("451 4.7.1");
                assertThat(send(c, "drop me", "user@example.org")).startsWith("250");
                assertThat(send(c, "quarantine this", "user@example.org")).startsWith("250");
                assertThat(send(c, "rewrite change copy", "user@example.org", "refused@example.org")).startsWith("250");
            }
            await(upstream, 2);
            List<String> to = upstream.getMessages().stream().map(WiserMessage::getEnvelopeReceiver).sorted().toList();
            assertThat(to).containsExactly("copy@example.org", "user@example.org");
            String data = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(data).contains("X-Test-Milter: seen 1 recipients\r\n").contains("Subject: changed by milter\r\n")
                    .doesNotContain("rewrite change copy").endsWith("\r\n\r\nreplaced body\r\n");
            assertThat(relay.server.engine().queue().messages()).singleElement()
                    .satisfies(m -> assertThat(m.state()).isEqualTo(QueueState.HOLD));
        } finally {
            milter.destroy();
            upstream.stop();
        }
    }

    @Test
    void aMilterThatIsDownFollowsMilterDefaultAction() throws Exception {
        int deadPort = RelayHarness.freePort();
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try {
            try (RelayHarness relay = new RelayHarness(temp.resolve("tempfail"))) {
                relay.mainCf("smtpd_milters = inet:127.0.0.1:" + deadPort)
                        .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
                try (SmtpTestClient c = relay.client()) {
                    assertThat(send(c, "hello", "user@example.org")).isEqualTo("451 4.7.1 Service unavailable - try again later");
                }
                assertThat(relay.server.engine().queue().size()).isZero();
            }
            try (RelayHarness relay = new RelayHarness(temp.resolve("accept"))) {
                relay.mainCf("smtpd_milters = inet:127.0.0.1:" + deadPort).mainCf("milter_default_action = accept")
                        .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
                try (SmtpTestClient c = relay.client()) {
                    assertThat(send(c, "hello", "user@example.org")).startsWith("250");
                }
                await(upstream, 1);
            }
        } finally {
            upstream.stop();
        }
    }

    @Test
    void theLibraryGoesThroughNonSmtpdMilters() throws Exception {
        assumeTrue(available("Milter"), "python3-milter (Debian) is needed; .ci/run installs it");
        int milterPort = RelayHarness.freePort();
        Process milter = startTestMilter(milterPort);
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .settings(RelaySettings.defaults()
                        .defaultRelayHost("[127.0.0.1]:" + upstream.getServer().getPortAllocated()).hostname("app.test")
                        .milters("inet:127.0.0.1:" + milterPort, "tempfail"))
                .build().start()) {
            relay.submit("app@example.com", List.of("user@example.org"), message("from the library")
                    .getBytes(StandardCharsets.US_ASCII)).get();
            assertThat(relay.submit("app@example.com", List.of("user@example.org"), message("reject me")
                    .getBytes(StandardCharsets.US_ASCII))).failsWithin(Duration.ofSeconds(20))
                    .withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(MessageRejectedException.class)
                    .withMessageContaining("550 5.7.1 Rejected by the test milter");
            await(upstream, 1);
            assertThat(new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8))
                    .contains("X-Test-Milter: seen 1 recipients");
        } finally {
            milter.destroy();
            upstream.stop();
        }
    }

    @Test
    void opendkimAsAMilterSignsWithADockerMailserverKeyTable() throws Exception {
        assumeTrue(Files.isExecutable(OPENDKIM) && available("dkim"), "opendkim and python3-dkim (Debian); .ci/run installs them");
        Path od = Files.createDirectories(temp.resolve("opendkim"));
        Path keys = Files.createDirectories(od.resolve("keys/example.com"));
        Process genkey = new ProcessBuilder("/usr/sbin/opendkim-genkey", "-b", "2048", "-d", "example.com", "-D", keys.toString(),
                "-s", "mail").redirectErrorStream(true).start();
        genkey.getInputStream().readAllBytes();
        assertThat(genkey.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Files.writeString(od.resolve("KeyTable"), "mail._domainkey.example.com example.com:mail:" + keys.resolve("mail.private") + "\n");
        Files.writeString(od.resolve("SigningTable"), "*@example.com mail._domainkey.example.com\n");
        int port = RelayHarness.freePort();
        Files.writeString(od.resolve("opendkim.conf"), String.join("\n", "Syslog no", "Mode s", "Canonicalization relaxed/relaxed",
                "KeyTable refile:" + od.resolve("KeyTable"), "SigningTable refile:" + od.resolve("SigningTable"),
                "Socket inet:" + port + "@127.0.0.1", "Background no", "RequireSafeKeys no", "PidFile " + od.resolve("pid"), ""));
        Process opendkim = new ProcessBuilder(OPENDKIM.toString(), "-f", "-x", od.resolve("opendkim.conf").toString())
                .redirectErrorStream(true).redirectOutput(od.resolve("opendkim.log").toFile()).start();
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay"))) {
            awaitListening(port);
            relay.mainCf("smtpd_milters = inet:127.0.0.1:" + port)
                    .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
            try (SmtpTestClient c = relay.client()) {
                assertThat(send(c, "signed by opendkim", "user@example.org")).startsWith("250");
            }
            await(upstream, 1);
            byte[] data = upstream.getMessages().get(0).getData();
            assertThat(new String(data, StandardCharsets.US_ASCII)).contains("DKIM-Signature:").contains("d=example.com");
            Path eml = temp.resolve("signed.eml");
            Files.write(eml, data);
            String txt = Files.readString(keys.resolve("mail.txt"));
            StringBuilder value = new StringBuilder();
            Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(txt);
            while (m.find()) {
                value.append(m.group(1));
            }
            Path record = temp.resolve("record.txt");
            Files.writeString(record, value.toString());
            Process verify = new ProcessBuilder(PYTHON.toString(), "-c", "import sys, dkim\n"
                    + "rec = open(sys.argv[2]).read().encode()\n"
                    + "print(dkim.verify(open(sys.argv[1], 'rb').read(), dnsfunc=lambda name, timeout=5: rec))",
                    eml.toString(), record.toString()).redirectErrorStream(true).start();
            String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertThat(verify.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(Files.readString(od.resolve("opendkim.log"))).isEqualTo("True");
        } finally {
            opendkim.destroy();
            upstream.stop();
        }
    }
}
