package org.relaymta.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.test.TestUpstream;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.event.EventListener;
import org.springframework.mail.SimpleMailMessage;
import org.springframework.mail.javamail.JavaMailSender;
import org.springframework.mail.javamail.JavaMailSenderImpl;

/** The auto-configuration's choices, each in a real context with a real relay. */
class RelayMtaAutoConfigurationTest {
    @RegisterExtension
    static TestUpstream upstream = new TestUpstream();

    @TempDir
    Path temp;

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(RelayMtaAutoConfiguration.class))
                .withPropertyValues("relaymta.spool-dir=" + temp.resolve("spool"), "relaymta.hostname=app.example");
    }

    private static SimpleMailMessage mail(String subject) {
        SimpleMailMessage m = new SimpleMailMessage();
        m.setFrom("app@app.example");
        m.setTo("user@example.org");
        m.setSubject(subject);
        m.setText("hi");
        return m;
    }

    @Test
    void aConfigDirectoryAndDockerMailserverVariablesRouteTheMail() throws Exception {
        Path config = Files.createDirectories(temp.resolve("config"));
        // The relay map sends this sender's mail to the test upstream; DEFAULT_RELAY_HOST would go nowhere.
        Files.writeString(config.resolve("postfix-relaymap.cf"), "@app.example " + upstream.relayHost() + "\n");
        runner().withPropertyValues("relaymta.config-dir=" + config, "relaymta.default-relay-host=[192.0.2.1]:25")
                .run(context -> {
                    assertThat(context).hasSingleBean(RelayEngine.class).hasSingleBean(JavaMailSender.class);
                    context.getBean(JavaMailSender.class).send(mail("routed by the relay map"));
                    assertThat(upstream.awaitMessages(1, Duration.ofSeconds(20)).get(upstream.messages().size() - 1).subject())
                            .isEqualTo("routed by the relay map");
                });
    }

    /** An application's bean that listens for the relay's events the Spring way. */
    static class EventCollector {
        final List<DeliveryEvent> events = new CopyOnWriteArrayList<>();

        @EventListener
        void on(DeliveryEvent e) {
            events.add(e);
        }
    }

    @Test
    void deliveryEventsArePublishedAsApplicationEvents() {
        runner().withPropertyValues("relaymta.default-relay-host=" + upstream.relayHost())
                .withUserConfiguration(EventCollector.class)
                .run(context -> {
                    context.getBean(JavaMailSender.class).send(mail("evented"));
                    EventCollector collector = context.getBean(EventCollector.class);
                    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                    while (collector.events.stream().noneMatch(e -> e.status() == DeliveryEvent.Status.SENT)
                            && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    assertThat(collector.events).extracting(DeliveryEvent::status)
                            .containsExactly(DeliveryEvent.Status.RECEIVED, DeliveryEvent.Status.SENT);
                    assertThat(collector.events).allMatch(e -> e.recipient().equals("user@example.org"));
                });
        runner().withPropertyValues("relaymta.default-relay-host=" + upstream.relayHost(), "relaymta.publish-events=false")
                .withUserConfiguration(EventCollector.class)
                .run(context -> {
                    context.getBean(JavaMailSender.class).send(mail("quiet"));
                    assertThat(context.getBean(RelayEngine.class).queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
                    context.getBean(RelayEngine.class).awaitListeners(Duration.ofSeconds(5));
                    assertThat(context.getBean(EventCollector.class).events).isEmpty();
                });
    }

    @Test
    void anApplicationsOwnMailSenderWinsAndTheRelayIsStillThere() {
        JavaMailSenderImpl own = new JavaMailSenderImpl();
        runner().withPropertyValues("relaymta.default-relay-host=" + upstream.relayHost())
                .withBean("myMailSender", JavaMailSender.class, () -> own)
                .run(context -> {
                    assertThat(context.getBean(JavaMailSender.class)).isSameAs(own);
                    assertThat(context).hasSingleBean(RelayEngine.class);
                });
    }

    @Test
    void theSenderCanBeTurnedOffAndTheRelayToo() {
        runner().withPropertyValues("relaymta.mail-sender.enabled=false")
                .run(context -> assertThat(context).hasSingleBean(RelayEngine.class).doesNotHaveBean(JavaMailSender.class));
        runner().withPropertyValues("relaymta.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(RelayEngine.class).doesNotHaveBean(JavaMailSender.class));
    }

    @Test
    void aUserWithoutAPasswordIsAClearStartupErrorThatShowsNoSecret() {
        runner().withPropertyValues("relaymta.default-relay-host=" + upstream.relayHost(), "relaymta.relay-user=AKIAEXAMPLE")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("relaymta.relay-user and relaymta.relay-password go together"));
        runner().withPropertyValues("relaymta.relay-user=AKIAEXAMPLE", "relaymta.relay-password=s3cret-value",
                        "relaymta.env.RELAY_HOST=mail.example.com")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("relaymta.env.RELAY_HOST needs relaymta.config-dir");
                    assertThat(context.getStartupFailure().toString()).doesNotContain("s3cret-value");
                });
    }

    @Test
    void theRelayStopsWithTheContextAndLetsGoOfItsSpool() throws Exception {
        runner().withPropertyValues("relaymta.default-relay-host=" + upstream.relayHost()).run(context -> {
            assertThat(context).hasSingleBean(RelayEngine.class);
        });
        try (RelayEngine again = RelayEngine.builder().spoolDirectory(temp.resolve("spool"))
                .settings(RelaySettings.defaults()).build().start()) {
            assertThat(again.queue().size()).isZero();
        }
    }
}
