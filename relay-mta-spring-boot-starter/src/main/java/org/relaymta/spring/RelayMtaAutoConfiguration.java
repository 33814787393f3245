package org.relaymta.spring;

import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.mail.RelayTransport;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.mail.javamail.JavaMailSender;
import org.springframework.mail.javamail.JavaMailSenderImpl;

/**
 * A {@link RelayEngine} from {@code relaymta.*} properties, a {@link JavaMailSender} that queues
 * into it (so {@code spring-boot-starter-mail} code works unchanged, and Boot's own SMTP sender
 * steps back), the application's Micrometer registry for its meters, delivery listeners from the
 * context, and a stop with the context that lets deliveries finish.
 */
@AutoConfiguration(beforeName = {
        "org.springframework.boot.autoconfigure.mail.MailSenderAutoConfiguration",   // Boot 3
        "org.springframework.boot.mail.autoconfigure.MailSenderAutoConfiguration"})  // Boot 4
@ConditionalOnClass(RelayEngine.class)
@ConditionalOnProperty(prefix = "relaymta", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(RelayMtaProperties.class)
public class RelayMtaAutoConfiguration {

    /** Started here so that a sender is usable while the context starts; closed by {@link RelayMtaLifecycle}, or on destroy. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public RelayEngine relayEngine(RelayMtaProperties properties, ObjectProvider<MeterRegistry> registry,
                                   ObjectProvider<DeliveryListener> listeners, ApplicationEventPublisher publisher)
            throws IOException {
        RelayEngine.Builder builder = RelayEngine.builder().spoolDirectory(properties.getSpoolDir())
                .shutdownGrace(properties.getShutdownTimeout());
        if (properties.getConfigDir() != null) {
            builder.configDirectory(properties.getConfigDir(), env(properties));
        } else {
            builder.settings(settings(properties));
        }
        MeterRegistry meters = registry.getIfAvailable();
        if (meters != null) {
            builder.meterRegistry(meters);
        }
        listeners.orderedStream().forEach(builder::listener);
        if (properties.isPublishEvents()) {
            builder.listener(new SpringEvents(publisher));
        }
        return builder.build().start();
    }

    @Bean
    @ConditionalOnMissingBean
    public RelayMtaLifecycle relayMtaLifecycle(RelayEngine engine, RelayMtaProperties properties) {
        return new RelayMtaLifecycle(engine, properties);
    }

    @Bean
    @ConditionalOnClass(JavaMailSenderImpl.class)
    @ConditionalOnMissingBean(JavaMailSender.class)
    @ConditionalOnProperty(prefix = "relaymta.mail-sender", name = "enabled", matchIfMissing = true)
    public JavaMailSenderImpl relayMtaMailSender(RelayEngine engine) {
        JavaMailSenderImpl sender = new JavaMailSenderImpl();
        sender.setSession(engine.mailSession());
        sender.setProtocol(RelayTransport.PROTOCOL);
        return sender;
    }

    static RelaySettings settings(RelayMtaProperties p) {
        RelaySettings settings = RelaySettings.defaults();
        if (has(p.getDefaultRelayHost())) {
            settings.defaultRelayHost(p.getDefaultRelayHost());
        }
        if (has(p.getRelayUser()) || has(p.getRelayPassword())) {
            if (!has(p.getRelayUser()) || !has(p.getRelayPassword())) {
                throw new IllegalStateException("relaymta.relay-user and relaymta.relay-password go together: only one is set");
            }
            settings.credentials(p.getRelayUser(), p.getRelayPassword());
        }
        if (has(p.getHostname())) {
            settings.hostname(p.getHostname());
        }
        if (p.getMinimalBackoff() != null || p.getMaximalBackoff() != null) {
            settings.backoff(p.getMinimalBackoff() != null ? p.getMinimalBackoff() : Duration.ofMinutes(5),
                    p.getMaximalBackoff() != null ? p.getMaximalBackoff() : Duration.ofMinutes(67));
        }
        if (!p.getEnv().isEmpty()) {
            throw new IllegalStateException("relaymta.env." + p.getEnv().keySet().iterator().next()
                    + " needs relaymta.config-dir (the variables are read with the config directory)");
        }
        return settings;
    }

    /** The docker-mailserver variables, as {@code mta run} would see them in its environment. */
    static Map<String, String> env(RelayMtaProperties p) {
        Map<String, String> env = new LinkedHashMap<>(p.getEnv());
        put(env, "DEFAULT_RELAY_HOST", p.getDefaultRelayHost());
        put(env, "RELAY_USER", p.getRelayUser());
        put(env, "RELAY_PASSWORD", p.getRelayPassword());
        put(env, "MTA_HOSTNAME", p.getHostname());
        return env;
    }

    private static void put(Map<String, String> env, String name, String value) {
        if (has(value)) {
            env.put(name, value);
        }
    }

    private static boolean has(String value) {
        return value != null && !value.isBlank();
    }
}
