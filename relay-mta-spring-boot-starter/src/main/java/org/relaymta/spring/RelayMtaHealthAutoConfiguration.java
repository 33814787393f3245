package org.relaymta.spring;

import org.relaymta.core.RelayEngine;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.context.annotation.Bean;

/** Actuator health {@code relayMta} on Spring Boot 3 ({@code org.springframework.boot.actuate.health}). */
@AutoConfiguration(after = RelayMtaAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.actuate.health.HealthIndicator")
@ConditionalOnMissingClass("org.springframework.boot.health.contributor.HealthIndicator")
@ConditionalOnBean(RelayEngine.class)
public class RelayMtaHealthAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "relayMtaHealthIndicator")
    public HealthIndicator relayMtaHealthIndicator(RelayEngine engine) {
        return () -> {
            RelayHealth health = RelayHealth.of(engine);
            return (health.up() ? Health.up() : Health.down()).withDetails(health.details()).build();
        };
    }
}
