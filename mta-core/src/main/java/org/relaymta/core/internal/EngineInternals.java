package org.relaymta.core.internal;

import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.cluster.Cluster;
import org.relaymta.core.internal.delivery.RelayHealth;
import org.relaymta.core.internal.metrics.RelayMetrics;
import org.relaymta.core.internal.outbox.EventFeed;
import org.relaymta.core.internal.queue.QueueActions;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.sts.StsPolicy;
import org.relaymta.core.internal.tlsrpt.TlsPolicyHealth;
import org.relaymta.core.internal.tlsrpt.TlsReports;
import org.relaymta.core.queue.SuppressionList;

/**
 * What the relay's own server module needs of an engine beyond the public API: its event loops
 * (the SMTP listener shares them), the receiving side of the spool, the metrics, the current
 * configuration and the operator view of the queue. Not an API: it changes with the server.
 */
public final class EngineInternals {
    /** Receives one message into the spool. */
    public interface Receiver {
        IncomingMessage receive(Envelope envelope) throws IOException;
    }

    private final EventLoopGroup eventLoops;
    private final Receiver receiver;
    private final RelayMetrics metrics;
    private final Supplier<RelayConfig> config;
    private final QueueActions queue;
    private final RelayHealth relayHealth;
    private final Cluster cluster;
    private final TlsPolicyHealth tlsPolicies;
    private final MtaSts sts;
    private final TlsReports reports;
    private final Function<String, CompletableFuture<String>> tlsPolicy;
    private final EventFeed events;
    private final SuppressionList suppressions;
    private final Shaper shaper;

    public EngineInternals(EventLoopGroup eventLoops, Receiver receiver, RelayMetrics metrics, Supplier<RelayConfig> config,
                           QueueActions queue, RelayHealth relayHealth,
                           Cluster cluster, TlsPolicyHealth tlsPolicies, MtaSts sts, TlsReports reports, EventFeed events,
                           SuppressionList suppressions, Function<String, CompletableFuture<String>> tlsPolicy,
                           Shaper shaper) {
        this.shaper = shaper;
        this.events = events;
        this.suppressions = suppressions;
        this.tlsPolicy = tlsPolicy;
        this.reports = reports;
        this.tlsPolicies = tlsPolicies;
        this.sts = sts;
        this.relayHealth = relayHealth;
        this.cluster = cluster;
        this.eventLoops = eventLoops;
        this.receiver = receiver;
        this.metrics = metrics;
        this.config = config;
        this.queue = queue;
    }

    public EventLoopGroup eventLoops() {
        return eventLoops;
    }

    public IncomingMessage receive(Envelope envelope) throws IOException {
        return receiver.receive(envelope);
    }

    public RelayMetrics metrics() {
        return metrics;
    }

    public RelayConfig config() {
        return config.get();
    }

    /** The relay next hops' circuit breakers ({@code /health}). */
    public RelayHealth relayHealth() {
        return relayHealth;
    }

    /** This node among the relay nodes sharing a Redis ({@code /health}). */
    public Cluster cluster() {
        return cluster;
    }

    /** DANE and MTA-STS destinations failing for an hour ({@code /health}). */
    public List<String> tlsPolicyWarnings() {
        return tlsPolicies.warnings();
    }

    /** The MTA-STS policy known for a domain now, without asking anyone ({@code mta route}). */
    public Optional<StsPolicy> stsPolicy(String domain) {
        return sts == null ? Optional.empty() : sts.cached(domain);
    }

    /** The TLS policy mail to {@code domain}'s MX would be under, asked the way delivery asks (JSON). */
    public CompletableFuture<String> tlsPolicy(String domain) {
        return tlsPolicy.apply(domain);
    }

    /** The TLS reports; null when the engine does not use its own DNS. */
    public TlsReports tlsReports() {
        return reports;
    }

    /** The event feed: the sinks' state ({@code /health}, {@code mta events}). */
    public EventFeed events() {
        return events;
    }

    /** The shaping actions in force ({@code /shaping}, {@code /health}). */
    public Shaper shaper() {
        return shaper;
    }

    /** The suppression list ({@code /suppressions}). */
    public SuppressionList suppressions() {
        return suppressions;
    }

    public QueueActions queue() {
        return queue;
    }
}
