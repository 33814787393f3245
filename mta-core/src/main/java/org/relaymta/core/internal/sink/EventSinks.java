package org.relaymta.core.internal.sink;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.relaymta.config.internal.EventSettings;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.outbox.SinkRunner;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.tls.HttpsRequests;

/** The sinks the configuration names at start, each with its runner. */
public final class EventSinks {
    private EventSinks() {
    }

    public static List<SinkRunner> fromConfig(Supplier<RelayConfig> config, Supplier<HttpsRequests> https,
                                              Optional<MtaSts.PolicyDns> dns, Clock clock) {
        EventSettings started = config.get().events();
        Supplier<EventSettings> settings = () -> config.get().events();
        List<SinkRunner> runners = new ArrayList<>();
        Function<String, CompletableFuture<InetAddress>> resolver = host -> resolve(host, dns);
        for (EventSettings.Webhook hook : started.webhooks()) {
            runners.add(new SinkRunner(new WebhookSink(hook, settings, https, resolver), () -> settings.get().retryMaximum(),
                    clock));
        }
        if (started.kafka().isPresent()) {
            try {
                Class.forName("org.apache.kafka.clients.producer.KafkaProducer", false, EventSinks.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("event_kafka_bootstrap is set, but kafka-clients is not on the class path "
                        + "(add org.apache.kafka:kafka-clients to the application)");
            }
            runners.add(new SinkRunner(KafkaSink.open(started.kafka().get()), () -> settings.get().retryMaximum(), clock));
        }
        return runners;
    }

    /** An address literal as it is; a name through the relay's own resolver when it has one, else the system's. */
    static CompletableFuture<InetAddress> resolve(String host, Optional<MtaSts.PolicyDns> dns) {
        if (host.equalsIgnoreCase("localhost") || host.matches("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")) {
            try {
                return CompletableFuture.completedFuture(InetAddress.getByName(host));
            } catch (UnknownHostException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        if (dns.isPresent()) {
            return dns.get().address(host);
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                return InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                throw new CompletionException(e);
            }
        });
    }
}
