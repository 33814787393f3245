/**
 * Relay MTA as a library: {@link org.relaymta.core.RelayEngine} and {@link org.relaymta.core.RelaySettings}
 * (submit, settings), {@code org.relaymta.core.event} (delivery events), {@code org.relaymta.core.queue}
 * (queue inspection and control) and the Jakarta Mail transport {@code relaymta}
 * ({@link org.relaymta.core.mail.RelayTransport}).
 * The spool, queue manager, SMTP client, DNS resolver, OAuth2 token cache and metrics are internal.
 */
module org.relaymta.core {
    requires transitive org.relaymta.config;
    requires transitive jakarta.mail;
    requires transitive micrometer.core;
    requires org.eclipse.angus.mail;
    requires io.netty.buffer;
    requires io.netty.codec;
    requires io.netty.codec.dns;
    requires io.netty.codec.http;
    requires io.netty.common;
    requires io.netty.handler;
    requires io.netty.resolver;
    requires io.netty.resolver.dns;
    requires io.netty.transport;
    requires java.net.http;
    requires org.slf4j;
    requires com.google.gson;
    // Only with MTA_REDIS_URL (shared quotas): the application adds it, mta-server has it.
    requires static lettuce.core;
    // Only with event_kafka_bootstrap (events to Kafka): the application adds it, mta-server has it.
    requires static kafka.clients;

    exports org.relaymta.core;
    exports org.relaymta.core.event;
    exports org.relaymta.core.queue;
    exports org.relaymta.core.mail;
    exports org.relaymta.core.internal to org.relaymta.server;
    exports org.relaymta.core.internal.cluster to org.relaymta.server;
    exports org.relaymta.core.internal.delivery to org.relaymta.server;
    exports org.relaymta.core.internal.delivery.sasl to org.relaymta.server;
    exports org.relaymta.core.internal.metrics to org.relaymta.server;
    exports org.relaymta.core.internal.oauth2 to org.relaymta.server;
    exports org.relaymta.core.internal.outbox to org.relaymta.server;
    exports org.relaymta.core.internal.queue to org.relaymta.server;
    exports org.relaymta.core.internal.shaping to org.relaymta.server;
    exports org.relaymta.core.internal.spool to org.relaymta.server;
    exports org.relaymta.core.internal.suppress to org.relaymta.server;

    provides jakarta.mail.Provider with org.relaymta.core.mail.RelayProviders.Relay, org.relaymta.core.mail.RelayProviders.Smtp;
}
