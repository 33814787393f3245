package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.EngineAccess;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * Native DKIM signing, checked by Debian's dkimpy (python3-dkim) with the public keys from the TXT
 * records {@code mta setup dkim} and {@code opendkim-genkey} print (no DNS): rsa-sha256 and
 * ed25519-sha256 from docker-mailserver's OpenDKIM layout, signed once at acceptance so that a
 * retry after a restart delivers the same signed bytes. {@code .ci/run} installs the tools.
 */
class DkimSigningIT {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path GENKEY = Path.of("/usr/sbin/opendkim-genkey");
    private static final String VERIFY = """
            import sys, dkim
            msg = open(sys.argv[1], 'rb').read()
            records = {}
            for arg in sys.argv[2:]:
                name, path = arg.split('=', 1)
                records[name] = open(path).read()
            def dnsfunc(name, timeout=5):
                n = name.decode() if isinstance(name, bytes) else name
                return records.get(n.rstrip('.')).encode()
            d = dkim.DKIM(msg)
            sigs = [h for h in d.headers if h[0].lower() == b'dkim-signature']
            def check(i):
                try:
                    return d.verify(idx=i, dnsfunc=dnsfunc)
                except dkim.DKIMException:
                    return False
            results = [check(i) for i in range(len(sigs))]
            print(len(sigs), 'signatures', ' '.join('ok' if r else 'FAIL' for r in results))
            """;

    @TempDir
    Path temp;

    private static boolean dkimpy() throws Exception {
        if (!Files.isExecutable(PYTHON)) {
            return false;
        }
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import dkim, nacl").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }

    /** dkimpy's verdict on {@code message}: "N signatures ok ok ...". */
    private String verify(byte[] message, Map<String, String> txt) throws Exception {
        Path script = temp.resolve("verify.py");
        Files.writeString(script, VERIFY);
        Path eml = Files.createTempFile(temp, "msg", ".eml");
        Files.write(eml, message);
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString(), eml.toString()));
        for (Map.Entry<String, String> e : txt.entrySet()) {
            Path record = Files.createTempFile(temp, "txt", ".txt");
            Files.writeString(record, e.getValue());
            cmd.add(e.getKey() + "=" + record);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** The TXT value of an opendkim-genkey / mta setup dkim {@code <selector>.txt} file, its quoted strings joined. */
    private static String txtValue(Path txtFile) throws Exception {
        String text = Files.readString(txtFile);
        StringBuilder value = new StringBuilder();
        Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(text);
        while (m.find()) {
            value.append(m.group(1));
        }
        return value.toString();
    }

    private static String message(String from, String subject) {
        return ("From: App <" + from + ">\r\nTo: someone@example.org\r\nSubject: " + subject
                + "\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + subject.hashCode() + "@x>\r\n\r\n"
                + "Hello   there,  \r\n\r\nA body with  trailing space \t\r\nand . dots\r\n..\r\n\r\n\r\n");
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    @Test
    void signaturesVerifyAfterARetryAndARestartWithBothAlgorithmsAndOpendkimGenkeyKeys() throws Exception {
        assumeTrue(dkimpy(), "python3-dkim and python3-nacl (Debian) are needed; .ci/run installs them");
        assumeTrue(Files.isExecutable(GENKEY), "opendkim-tools (Debian) is needed; .ci/run installs it");
        Path config = temp.resolve("config");
        Files.createDirectories(config);

        // mta setup dkim, as a user runs it: RSA and Ed25519 for example.com.
        Process setup = MtaProcessIT.mta(temp, Map.of(), "setup", "dkim", "example.com", "--keytype", "both",
                "--config-dir", config.toString()).redirectErrorStream(false).start();
        String printed = new String(setup.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(setup.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(setup.exitValue()).isZero();
        assertThat(printed).contains("mail._domainkey.example.com. IN TXT \"v=DKIM1; h=sha256; k=rsa; p=")
                .contains("mail-ed25519._domainkey.example.com. IN TXT \"v=DKIM1; h=sha256; k=ed25519; p=");
        assertThat(Files.getPosixFilePermissions(config.resolve("opendkim/keys/example.com/mail.private")))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
                        PosixFilePermission.OWNER_WRITE);

        // opendkim-genkey, as docker-mailserver's 'setup config dkim' runs it, with the container paths in KeyTable.
        Path legacyDir = Files.createDirectories(config.resolve("opendkim/keys/legacy.test"));
        Process genkey = new ProcessBuilder(GENKEY.toString(), "-b", "2048", "-d", "legacy.test", "-D", legacyDir.toString(),
                "-s", "mail").redirectErrorStream(true).start();
        genkey.getInputStream().readAllBytes();
        assertThat(genkey.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Files.writeString(config.resolve("opendkim/KeyTable"), "mail._domainkey.legacy.test legacy.test:mail:"
                + "/etc/opendkim/keys/legacy.test/mail.private\n", StandardOpenOption.APPEND);
        Files.writeString(config.resolve("opendkim/SigningTable"), "*@legacy.test mail._domainkey.legacy.test\n",
                StandardOpenOption.APPEND);

        Map<String, String> txt = Map.of(
                "mail._domainkey.example.com", txtValue(config.resolve("opendkim/keys/example.com/mail.txt")),
                "mail-ed25519._domainkey.example.com", txtValue(config.resolve("opendkim/keys/example.com/mail-ed25519.txt")),
                "mail._domainkey.legacy.test", txtValue(legacyDir.resolve("mail.txt")));

        int upstreamPort = RelayHarness.freePort();
        Path work = Files.createDirectories(temp.resolve("relay"));
        RelayHarness relay = new RelayHarness(work);
        copyTree(config, relay.configDir);
        relay.env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort).start();
        String idSigned;
        try {
            // The smarthost is down: the signed message waits in the spool.
            try (SmtpTestClient c = relay.client()) {
                idSigned = c.send("app@example.com", "someone@example.org", message("app@example.com", "both keys"));
                c.send("app@legacy.test", "someone@example.org", message("app@legacy.test", "genkey"));
                c.send("app@other.test", "someone@example.org", message("app@other.test", "no key"));
            }
            assertThat(relay.nextEvent(DeliveryEvent.Status.DEFERRED, Duration.ofSeconds(20)).queueId()).isNotEmpty();
            MeterRegistry meters = EngineAccess.internals(relay.server.engine()).metrics().registry();
            assertThat(meters.get("mta.dkim.signed").tags("domain", "example.com", "algorithm", "ed25519-sha256").counter().count())
                    .isEqualTo(1.0);
            assertThat(meters.get("mta.dkim.signed").tags("domain", "example.com", "algorithm", "rsa-sha256").counter().count())
                    .isEqualTo(1.0);
            assertThat(meters.get("mta.dkim.signed").tags("domain", "legacy.test", "algorithm", "rsa-sha256").counter().count())
                    .isEqualTo(1.0);
        } finally {
            relay.stop();
        }

        Wiser upstream = Wiser.port(upstreamPort);
        upstream.start();
        try {
            relay.start();   // a restart: the spool still holds the signed messages
            relay.server.engine().queue().flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (upstream.getMessages().size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(upstream.getMessages()).hasSize(3);
            Map<String, byte[]> bySubject = new HashMap<>();
            for (WiserMessage m : upstream.getMessages()) {
                bySubject.put(m.getMimeMessage().getSubject(), m.getData());
            }
            assertThat(verify(bySubject.get("both keys"), txt)).isEqualTo("2 signatures ok ok");
            assertThat(verify(bySubject.get("genkey"), txt)).isEqualTo("1 signatures ok");
            assertThat(new String(bySubject.get("no key"), StandardCharsets.US_ASCII)).doesNotContain("DKIM-Signature");

            // The verifier does fail: one changed body byte breaks both signatures.
            String tampered = new String(bySubject.get("both keys"), StandardCharsets.US_ASCII).replace("Hello", "Jello");
            assertThat(verify(tampered.getBytes(StandardCharsets.US_ASCII), txt)).isEqualTo("2 signatures FAIL FAIL");
            assertThat(idSigned).isNotEmpty();
        } finally {
            relay.stop();
            upstream.stop();
        }
    }

    /**
     * A milter's replacement body is what gets signed: the body hash is taken over the new body as
     * the spool holds it (streamed from the milter to the spool, small and large), not the received one.
     */
    @Test
    void aMiltersReplacementBodyIsWhatTheSignatureCovers() throws Exception {
        assumeTrue(dkimpy(), "python3-dkim and python3-nacl (Debian) are needed; .ci/run installs them");
        assumeTrue(MilterIT.available("Milter"), "python3-milter (Debian) is needed; .ci/run installs it");
        Path work = Files.createDirectories(temp.resolve("relay"));
        RelayHarness relay = new RelayHarness(work);
        Process setup = MtaProcessIT.mta(temp, Map.of(), "setup", "dkim", "example.com", "--config-dir",
                relay.configDir.toString()).start();
        setup.getInputStream().readAllBytes();
        assertThat(setup.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Map<String, String> txt = Map.of("mail._domainkey.example.com",
                txtValue(relay.configDir.resolve("opendkim/keys/example.com/mail.txt")));
        int milterPort = RelayHarness.freePort();
        Path script = temp.resolve("disclaimer.py");
        Files.writeString(script, MilterMemoryIT.DISCLAIMER);
        Process milter = new ProcessBuilder(PYTHON.toString(), script.toString(), String.valueOf(milterPort))
                .redirectErrorStream(true).start();
        assertThat(new BufferedReader(new InputStreamReader(milter.getInputStream())).readLine()).isEqualTo("ready");
        MilterIT.awaitListening(milterPort);
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try {
            relay.mainCf("smtpd_milters = inet:127.0.0.1:" + milterPort)
                    .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
            String large = message("app@example.com", "large").replace("Hello   there,", "Hello   there,\r\n"
                    + ("a line of the large body\r\n").repeat(30_000));
            try (SmtpTestClient c = relay.client()) {
                assertThat(c.send("app@example.com", "someone@example.org", message("app@example.com", "small"))).startsWith("250");
                assertThat(c.send("app@example.com", "someone@example.org", large)).startsWith("250");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (upstream.getMessages().size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(upstream.getMessages()).hasSize(2);
            for (WiserMessage m : upstream.getMessages()) {
                assertThat(new String(m.getData(), StandardCharsets.US_ASCII)).contains("Sent through the disclaimer milter");
                assertThat(verify(m.getData(), txt)).as(m.getMimeMessage().getSubject()).isEqualTo("1 signatures ok");
            }
        } finally {
            relay.stop();
            upstream.stop();
            milter.destroy();
        }
    }

    @Test
    void theLibrarySignsLargeMessagesTooWithPkcs1AndRawEd25519Keys() throws Exception {
        assumeTrue(dkimpy(), "python3-dkim and python3-nacl (Debian) are needed; .ci/run installs them");
        assumeTrue(Files.isExecutable(GENKEY) && Files.isExecutable(Path.of("/usr/bin/openssl")), "opendkim-tools and openssl");
        // An RSA key in PKCS#1 (older opendkim-genkey) and an Ed25519 key as a bare base64 seed (Rspamd style).
        Path keys = Files.createDirectories(temp.resolve("keys"));
        Process genkey = new ProcessBuilder(GENKEY.toString(), "-b", "2048", "-d", "shop.test", "-D", keys.toString(), "-s", "rsa")
                .redirectErrorStream(true).start();
        genkey.getInputStream().readAllBytes();
        assertThat(genkey.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Process pkcs1 = new ProcessBuilder("/usr/bin/openssl", "rsa", "-in", keys.resolve("rsa.private").toString(), "-traditional",
                "-out", keys.resolve("rsa.pkcs1").toString()).redirectErrorStream(true).start();
        pkcs1.getInputStream().readAllBytes();
        assertThat(pkcs1.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(keys.resolve("rsa.pkcs1"))).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        byte[] pkcs8 = ed.getPrivate().getEncoded();
        Files.writeString(keys.resolve("ed.seed"), Base64.getEncoder().encodeToString(
                Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length)));
        byte[] spki = ed.getPublic().getEncoded();
        String edTxt = "v=DKIM1; k=ed25519; p=" + Base64.getEncoder().encodeToString(
                Arrays.copyOfRange(spki, spki.length - 32, spki.length));
        Map<String, String> txt = Map.of("rsa._domainkey.shop.test", txtValue(keys.resolve("rsa.txt")),
                "ed._domainkey.shop.test", edTxt);

        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayEngine relay = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .settings(RelaySettings.defaults()
                        .defaultRelayHost("[127.0.0.1]:" + upstream.getServer().getPortAllocated()).hostname("app.test")
                        .dkimKey("shop.test", "rsa", keys.resolve("rsa.pkcs1"))
                        .dkimKey("shop.test", "ed", keys.resolve("ed.seed")))
                .build().start()) {
            StringBuilder big = new StringBuilder();
            for (int i = 0; big.length() < 700 * 1024; i++) {
                big.append("line ").append(i).append(" of a message too large to stay in memory  \r\n");
            }
            relay.submit("orders@shop.test", List.of("customer@example.org"), message("orders@shop.test", "small")
                    .getBytes(StandardCharsets.US_ASCII)).get();
            relay.submit("orders@shop.test", List.of("customer@example.org"), ("From: orders@shop.test\r\nSubject: large\r\n\r\n"
                    + big).getBytes(StandardCharsets.US_ASCII)).get();
            assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(30))).isTrue();
        }
        try {
            assertThat(upstream.getMessages()).hasSize(2);
            for (WiserMessage m : upstream.getMessages()) {
                assertThat(verify(m.getData(), txt)).as(m.getMimeMessage().getSubject()).isEqualTo("2 signatures ok ok");
            }
        } finally {
            upstream.stop();
        }
    }
}
