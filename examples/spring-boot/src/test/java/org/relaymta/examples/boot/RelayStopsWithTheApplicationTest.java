package org.relaymta.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.RelayEngine;
import org.relaymta.test.TestUpstream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mail.SimpleMailMessage;
import org.springframework.mail.javamail.JavaMailSender;

/**
 * Stopping the application stops the relay with it and loses nothing: mail the smarthost could not
 * take yet stays in the spool, and the next start delivers it.
 */
class RelayStopsWithTheApplicationTest {

    @Test
    void mailQueuedWhileTheSmarthostIsDownSurvivesTheApplicationStopAndIsDeliveredAfter() throws Exception {
        Path spool = Files.createTempDirectory("boot-relay-spool");
        try (TestUpstream smarthost = new TestUpstream()) {
            int port = smarthost.port();
            smarthost.close();   // the smarthost is down while the application runs
            ConfigurableApplicationContext app = new SpringApplicationBuilder(SignupApplication.class).run(
                    "--server.port=0",
                    "--relaymta.spool-dir=" + spool,
                    "--relaymta.default-relay-host=[127.0.0.1]:" + port,
                    "--relaymta.shutdown-timeout=2s");
            RelayEngine relay = app.getBean(RelayEngine.class);
            SimpleMailMessage m = new SimpleMailMessage();
            m.setFrom("welcome@app.example");
            m.setTo("carol@example.org");
            m.setSubject("Kept across a restart");
            m.setText("hi");
            app.getBean(JavaMailSender.class).send(m);
            assertThat(relay.queue().size()).isEqualTo(1);
            app.close();

            // The relay let go of its spool with the context; the message is still there.
            try (TestUpstream back = new TestUpstream()) {
                back.start();
                try (RelayEngine next = RelayEngine.builder().spoolDirectory(spool)
                        .settings(RelaySettings.defaults().defaultRelayHost(back.relayHost())).build().start()) {
                    assertThat(next.queue().size()).isEqualTo(1);
                    next.queue().flush();
                    assertThat(back.awaitMessages(1, Duration.ofSeconds(20)).get(0).subject()).isEqualTo("Kept across a restart");
                }
            }
        }
    }
}
