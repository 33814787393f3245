package org.relaymta.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.QueuedMessage;
import org.relaymta.core.RelayEngine;
import org.relaymta.test.TestUpstream;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mail.SimpleMailMessage;
import org.springframework.mail.javamail.JavaMailSender;

/**
 * The README's Spring Boot properties, word for word, in the example application: only the spool
 * directory and the smarthost's address are pointed at this test, and the password comes from
 * {@code SES_SMTP_PASSWORD} as the README has it. With credentials, the relay insists on STARTTLS
 * as docker-mailserver's Postfix does, so mail to a smarthost without it waits with 4.7.4.
 */
class ReadmePropertiesTest {

    private static Properties readmeProperties() throws Exception {
        String readme = Files.readString(Path.of("../../../docs/library.md"));
        String section = readme.substring(readme.indexOf("## Spring Boot"));
        String block = section.substring(section.indexOf("```properties") + "```properties".length(), section.indexOf("```", section.indexOf("```properties") + 3));
        Properties p = new Properties();
        p.load(new StringReader(block));
        return p;
    }

    @Test
    void theReadmePropertiesStartTheRelayWithDockerMailserverRules() throws Exception {
        Properties readme = readmeProperties();
        assertThat(readme.stringPropertyNames()).contains("relaymta.spool-dir", "relaymta.default-relay-host",
                "relaymta.relay-user", "relaymta.relay-password");
        Path spool = Files.createTempDirectory("readme-spool");
        try (TestUpstream smarthost = new TestUpstream().start()) {
            List<String> args = new ArrayList<>(List.of("--server.port=0", "--SES_SMTP_PASSWORD=not-a-real-secret"));
            for (String name : readme.stringPropertyNames()) {
                String value = switch (name) {
                    case "relaymta.spool-dir" -> spool.toString();
                    case "relaymta.default-relay-host" -> smarthost.relayHost();
                    default -> readme.getProperty(name);
                };
                args.add("--" + name + "=" + value);
            }
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(SignupApplication.class).run(args.toArray(String[]::new))) {
                SimpleMailMessage m = new SimpleMailMessage();
                m.setFrom("welcome@app.example");
                m.setTo("dave@example.org");
                m.setSubject("Needs TLS");
                m.setText("hi");
                app.getBean(JavaMailSender.class).send(m);
                RelayEngine relay = app.getBean(RelayEngine.class);
                QueuedMessage queued = awaitDeferred(relay);
                assertThat(queued.recipients().get(0).dsn()).isEqualTo("4.7.4");
                assertThat(smarthost.messages()).isEmpty();
            }
        }
    }

    private static QueuedMessage awaitDeferred(RelayEngine relay) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            List<QueuedMessage> all = relay.queue().messages();
            if (!all.isEmpty() && all.get(0).state() == QueueState.DEFERRED) {
                return all.get(0);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no deferred message: " + relay.queue().messages());
    }
}
