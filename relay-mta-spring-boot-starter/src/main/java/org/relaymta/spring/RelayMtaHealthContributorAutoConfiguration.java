package org.relaymta.spring;

import org.relaymta.core.RelayEngine;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/** Actuator health {@code relayMta} on Spring Boot 4, where health moved to {@code org.springframework.boot.health}. */
@AutoConfiguration(after = RelayMtaAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
@ConditionalOnBean(RelayEngine.class)
public class RelayMtaHealthContributorAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "relayMtaHealthIndicator")
    public HealthIndicator relayMtaHealthIndicator(RelayEngine engine) {
        return () -> {
            RelayHealth health = RelayHealth.of(engine);
            return (health.up() ? Health.up() : Health.down()).withDetails(health.details()).build();
        };
    }
}
