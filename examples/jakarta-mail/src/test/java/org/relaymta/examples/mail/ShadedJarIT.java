package org.relaymta.examples.mail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.test.CapturedMessage;
import org.relaymta.test.TestUpstream;

/** The application packaged as one shaded jar, run as its users run it: the relay's transport survives shading. */
class ShadedJarIT {
    @TempDir
    Path work;

    @Test
    void theShadedApplicationSendsThroughTheRelay() throws Exception {
        Path jar = Path.of("target/order-mailer.jar").toAbsolutePath();
        try (JarFile j = new JarFile(jar.toFile())) {
            String providers = new String(j.getInputStream(j.getEntry("META-INF/javamail.providers")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(providers.contains("org.relaymta.core.mail.RelayTransport"), providers);
            assertTrue(providers.contains("org.eclipse.angus.mail.pop3.POP3Store"), providers);
            String services = new String(j.getInputStream(j.getEntry("META-INF/services/jakarta.mail.Provider")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(services.contains("org.relaymta.core.mail.RelayProviders$Smtp"), services);
            assertTrue(services.contains("org.eclipse.angus.mail.smtp.SMTPProvider"), services);
        }
        try (TestUpstream smarthost = new TestUpstream().start()) {
            Process app = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(),
                    smarthost.relayHost(), "alice@example.org", "bob@example.org")
                    .directory(work.toFile()).redirectErrorStream(true).start();
            String output = new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(app.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, app.exitValue(), output);
            List<CapturedMessage> received = smarthost.awaitMessages(2, Duration.ofSeconds(10));
            assertEquals(List.of("Order 1001 confirmed", "Order 1002 confirmed"),
                    received.stream().map(CapturedMessage::subject).sorted().toList());
            assertTrue(output.contains("status=sent"), output);
            assertTrue(Files.isDirectory(work.resolve("data/spool")), "the spool is where the README says");
        }
    }
}
