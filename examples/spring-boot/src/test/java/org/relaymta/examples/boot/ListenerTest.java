package org.relaymta.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.relaymta.test.TestUpstream;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.SLF4JServiceProvider;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * With {@code org.relaymta:mta-server} added and {@code relaymta.listener.enabled=true}, the
 * application's relay also accepts SMTP from the rest of the stack (on this Boot line's Netty), and
 * the application keeps its own logging backend.
 */
class ListenerTest {

    @Test
    void theRelayAcceptsSmtpBesideTheApplication() throws Exception {
        int port = TestUpstream.freePort();
        Path spool = Files.createTempDirectory("boot-relay-spool");
        try (TestUpstream smarthost = new TestUpstream().start();
             ConfigurableApplicationContext app = new SpringApplicationBuilder(SignupApplication.class).run(
                     "--server.port=0",
                     "--relaymta.spool-dir=" + spool,
                     "--relaymta.default-relay-host=" + smarthost.relayHost(),
                     "--relaymta.listener.enabled=true",
                     "--relaymta.listener.address=127.0.0.1:" + port)) {
            Properties p = new Properties();
            p.setProperty("mail.smtp.host", "127.0.0.1");
            p.setProperty("mail.smtp.port", String.valueOf(port));
            MimeMessage m = new MimeMessage(Session.getInstance(p));
            m.setFrom(new InternetAddress("cron@app.example"));
            m.setRecipient(Message.RecipientType.TO, new InternetAddress("ops@example.org"));
            m.setSubject("Nightly report");
            m.setText("all good");
            Transport.send(m);
            assertThat(smarthost.awaitMessages(1, Duration.ofSeconds(20)).get(0).subject()).isEqualTo("Nightly report");
            assertThat(LoggerFactory.getILoggerFactory().getClass().getName()).startsWith("ch.qos.logback");
            // mta-server registers no SLF4J backend of its own (SLF4J would warn and might pick it).
            assertThat(ServiceLoader.load(SLF4JServiceProvider.class).stream()
                    .map(provider -> provider.type().getName())).allMatch(name -> name.startsWith("ch.qos.logback"));
        }
    }
}
