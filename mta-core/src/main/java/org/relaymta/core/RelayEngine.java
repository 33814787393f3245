package org.relaymta.core;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.delivery.DnsHostResolver;
import org.relaymta.core.delivery.HostResolver;
import org.relaymta.core.delivery.SmtpDeliveryAgent;
import org.relaymta.core.metrics.RelayMetrics;
import org.relaymta.core.queue.DeliveryListener;
import org.relaymta.core.queue.QueueManager;
import org.relaymta.core.spool.Envelope;
import org.relaymta.core.spool.Spool;

/**
 * The relay engine: durable spool, queue manager and SMTP delivery, wired together. The server's
 * listener and embedding applications hand messages to {@link #receive(Envelope)}.
 */
public final class RelayEngine implements AutoCloseable {
    private final Path spoolDir;
    private final Supplier<RelayConfig> config;
    private final Clock clock;
    private final List<InetSocketAddress> dnsServers;
    private final int directPort;
    private final List<DeliveryListener> listeners;
    private final int deliveryThreads;
    private final RelayMetrics metrics;

    private EventLoopGroup group;
    private HostResolver resolver;
    private Spool spool;
    private QueueManager queue;
    private SmtpDeliveryAgent agent;

    private RelayEngine(Builder b) {
        this.spoolDir = Objects.requireNonNull(b.spoolDir, "spoolDir");
        this.config = Objects.requireNonNull(b.config, "config");
        this.clock = b.clock;
        this.dnsServers = List.copyOf(b.dnsServers);
        this.directPort = b.directPort;
        this.listeners = List.copyOf(b.listeners);
        this.deliveryThreads = b.deliveryThreads;
        this.metrics = new RelayMetrics(b.meterRegistry != null ? b.meterRegistry
                : new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Opens the spool, starts delivery, and schedules every message already in the spool. */
    public RelayEngine start() throws IOException {
        spool = Spool.open(spoolDir, clock);
        spool.onFsync(metrics::fsync);
        group = new MultiThreadIoEventLoopGroup(2, r -> {
            Thread t = new Thread(r, "mta-netty");
            t.setDaemon(true);
            return t;
        }, NioIoHandler.newFactory());
        resolver = new DnsHostResolver(group, dnsServers);
        agent = new SmtpDeliveryAgent(group, resolver, directPort);
        agent.onSession(metrics::outboundSession);
        int threads = deliveryThreads > 0 ? deliveryThreads : Math.max(4, config.get().queue().destinationConcurrencyLimit());
        queue = new QueueManager(spool, config, agent, clock, threads);
        queue.addListener(metrics);
        listeners.forEach(queue::addListener);
        metrics.bindQueue(queue, clock);
        queue.recover();
        return this;
    }

    /** Starts receiving a message; see {@link IncomingMessage}. */
    public IncomingMessage receive(Envelope envelope) throws IOException {
        return new IncomingMessage(spool.create(envelope), queue, metrics::messageReceived);
    }

    public RelayMetrics metrics() {
        return metrics;
    }

    public QueueManager queue() {
        return queue;
    }

    public RelayConfig config() {
        return config.get();
    }

    public Clock clock() {
        return clock;
    }

    /** False when the spool cannot accept mail (directory not writable, failed fsync). */
    public boolean healthy() {
        return spool != null && spool.healthy();
    }

    public Path spoolDirectory() {
        return spoolDir;
    }

    /** Finishes running deliveries (up to a grace period) and stops; queued mail stays in the spool. */
    @Override
    public void close() {
        if (queue != null) {
            queue.close(Duration.ofSeconds(10));
        }
        if (agent != null) {
            agent.close();
        }
        if (resolver != null) {
            try {
                resolver.close();
            } catch (Exception ignored) {
                // closing a resolver cannot lose mail
            }
        }
        if (group != null) {
            // A short quiet period lets the QUITs to cached sessions go out.
            group.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
        }
    }

    public static final class Builder {
        private Path spoolDir;
        private Supplier<RelayConfig> config;
        private Clock clock = Clock.systemUTC();
        private List<InetSocketAddress> dnsServers = List.of();
        private int directPort = 25;
        private final List<DeliveryListener> listeners = new ArrayList<>();
        private int deliveryThreads;
        private io.micrometer.core.instrument.MeterRegistry meterRegistry;

        public Builder spoolDirectory(Path dir) {
            this.spoolDir = dir;
            return this;
        }

        public Builder config(Supplier<RelayConfig> config) {
            this.config = config;
            return this;
        }

        public Builder config(RelayConfig config) {
            return config(() -> config);
        }

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** DNS servers for MX lookups; empty: those of {@code /etc/resolv.conf}. */
        public Builder dnsServers(List<InetSocketAddress> servers) {
            this.dnsServers = servers;
            return this;
        }

        /** Port for direct delivery to MX hosts (25 unless a test or closed network needs another). */
        public Builder directDeliveryPort(int port) {
            this.directPort = port;
            return this;
        }

        public Builder listener(DeliveryListener listener) {
            listeners.add(listener);
            return this;
        }

        /** Delivery threads; default: the destination concurrency limit. */
        public Builder deliveryThreads(int threads) {
            this.deliveryThreads = threads;
            return this;
        }

        /** Where meters go (Prometheus in the server); default: an in-memory registry. */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.meterRegistry = registry;
            return this;
        }

        public RelayEngine build() {
            return new RelayEngine(this);
        }
    }
}
