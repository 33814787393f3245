/**
 * Relay MTA's Spring Boot 3 and 4 auto-configuration: a {@code RelayEngine} from
 * {@code relaymta.*} properties, a {@code JavaMailSender} that queues into it, health and metrics.
 * Spring reads the configuration classes reflectively, hence the {@code opens}.
 */
module org.relaymta.spring {
    requires org.relaymta.core;
    requires static org.relaymta.server;
    requires spring.beans;
    requires spring.boot;
    requires spring.boot.autoconfigure;
    requires spring.context;
    requires spring.context.support;
    requires spring.core;
    requires static spring.boot.actuator;
    requires static spring.boot.health;

    exports org.relaymta.spring;
    opens org.relaymta.spring to spring.core, spring.beans, spring.context;
}
