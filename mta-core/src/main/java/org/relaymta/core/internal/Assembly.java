package org.relaymta.core.internal;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.ConfigWatcher;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.cluster.Cluster;
import org.relaymta.core.internal.cluster.SharedShaping;
import org.relaymta.core.internal.delivery.DnsHostResolver;
import org.relaymta.core.internal.delivery.HostResolver;
import org.relaymta.core.internal.delivery.SmtpDeliveryAgent;
import org.relaymta.core.internal.metrics.RelayMetrics;
import org.relaymta.core.internal.milter.Milters;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.outbox.EventFeed;
import org.relaymta.core.internal.outbox.Outbox;
import org.relaymta.core.internal.outbox.SinkRunner;
import org.relaymta.core.internal.sink.EventSinks;
import org.relaymta.core.internal.queue.OutboxReconciler;
import org.relaymta.core.internal.queue.QueueManager;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolFence;
import org.relaymta.core.internal.spool.SpoolLock;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.suppress.LocalSuppressions;
import org.relaymta.core.internal.suppress.SharedSuppressions;
import org.relaymta.core.queue.SuppressionList;
import org.relaymta.core.internal.tls.HttpsClients;
import org.relaymta.core.internal.tlsrpt.TlsPolicyHealth;
import org.relaymta.core.internal.tlsrpt.TlsReports;

/**
 * The engine's composition root: what a started relay is made of and the order in which it starts
 * and stops. Start: the spool's lock, the spool, the event outbox (reconciling what a crash left
 * between it and the spool) and its feed to the listeners, event loops, DNS, OAuth2 tokens, the
 * delivery agent, the cluster link, the queue manager (recovering what the spool holds), the submit
 * threads and the config watcher. Stop: the other way round, deliveries given their grace, queued mail left
 * in the spool. The public {@code RelayEngine} is a facade over this.
 */
public final class Assembly {
    /** What the builder collected. */
    public record Options(Path spoolDir, Supplier<RelayConfig> config, Path watchedDir, Env watchedEnv,
                          AtomicReference<RelayConfig> watchedCurrent, Clock clock, List<InetSocketAddress> dnsServers,
                          int directPort, List<DeliveryListener> listeners, Map<String, DeliveryListener> namedListeners,
                          int deliveryThreads, MeterRegistry meterRegistry, SpoolFence fence, boolean adopted) {
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("org.relaymta.cluster");

    /** How often the outbox checkpoints (syncs the spool's pending changes, deletes what no one needs). */
    private static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(5);

    private final Options options;
    private final Supplier<RelayConfig> config;
    private final RelayMetrics metrics;
    private SpoolLock spoolLock;
    private Spool spool;
    private Outbox outbox;
    private EventFeed feed;
    private ScheduledExecutorService checkpoints;
    private EventLoopGroup group;
    private HostResolver resolver;
    private OAuth2Tokens tokens;
    private SmtpDeliveryAgent agent;
    private HttpsClients https;
    private MtaSts sts;
    private TlsReports reports;
    private Cluster cluster;
    private QueueManager queue;
    private SuppressionList suppressions;
    private Shaper shaper;
    private ExecutorService submitter;
    private ConfigWatcher watcher;
    private ScheduledExecutorService milterTimer;
    private Intake intake;
    private EngineInternals internals;

    public Assembly(Options options) {
        this.options = options;
        this.config = options.config();
        this.metrics = new RelayMetrics(options.meterRegistry());
    }

    /** Takes the spool (one owner at a time) and starts everything; on a failure, what started is stopped again. */
    public void start(Object owner) throws IOException {
        try {
            spoolLock = SpoolLock.acquire(options.spoolDir());
        } catch (SpoolLock.InUseException e) {
            if (!options.adopted()) {
                throw e;
            }
            // A paused owner keeps its file lock; the newer generation on disk fences it instead.
            log.warn("spool {}: {}; running it under generation {} (the old owner is fenced)", options.spoolDir(),
                    e.getMessage(), options.fence().generation());
        }
        try {
            startOwned(owner);
        } catch (IOException | RuntimeException e) {
            close(Duration.ZERO);
            throw e;
        }
    }

    private void startOwned(Object owner) throws IOException {
        Clock clock = options.clock();
        spool = Spool.open(options.spoolDir(), clock);
        if (options.fence() != null) {
            spool.fence(options.fence());
        }
        spool.onFsync(metrics::fsync);
        outbox = Outbox.open(options.spoolDir(), spool::sync);
        if (options.fence() != null) {
            outbox.fence(spool::fenced);
        }
        // Events a crash left ahead of the spool are applied before the queue is read.
        OutboxReconciler.reconcile(spool, outbox.unsettled());
        feed = new EventFeed(outbox);
        options.listeners().forEach(feed::addListener);
        for (Map.Entry<String, DeliveryListener> named : options.namedListeners().entrySet()) {
            feed.addNamed(named.getKey(), named.getValue());
        }
        group = newEventLoops();
        resolver = new DnsHostResolver(group, options.dnsServers(), config.get().delivery().tls().dnssec());
        tokens = new OAuth2Tokens(config, clock);
        metrics.bindOAuth2(tokens, config.get().routing().oauth2Profiles().keySet());
        https = new HttpsClients(group);
        sts = SmtpDeliveryAgent.policyDns(resolver)
                .map(dns -> new MtaSts(dns, () -> https.forConfig(config.get()), options.spoolDir(), clock)).orElse(null);
        for (SinkRunner sink : EventSinks.fromConfig(config, () -> https.forConfig(config.get()),
                SmtpDeliveryAgent.policyDns(resolver), clock)) {
            feed.addSink(sink);
        }
        // Only now that every consumer is known: what a sink still needs stays on disk.
        outbox.checkpoint(feed.namedPositions(), config.get().events().queueLimit());
        metrics.bindEvents(outbox, feed);
        agent = new SmtpDeliveryAgent(group, resolver, options.directPort(), tokens, clock, sts);
        metrics.bindRelayHealth(agent.health());
        metrics.bindConfig(config);
        agent.onSession(metrics::outboundSession);
        // Twice the per-destination limit, so one slow destination cannot hold every delivery thread.
        int threads = options.deliveryThreads() > 0 ? options.deliveryThreads()
                : Math.max(8, 2 * config.get().queue().destinationConcurrencyLimit());
        RelayConfig started = config.get();
        String node = started.myhostname() + "/" + ProcessHandle.current().pid() + "/"
                + Integer.toHexString(System.identityHashCode(owner));
        cluster = Cluster.start(started.cluster(), node, agent.health(), clock);
        metrics.bindCluster(cluster);
        queue = new QueueManager(spool, config, agent, clock, threads, cluster.quotas(), outbox);
        shaper = new Shaper(clock, () -> config.get().delivery().shaping(),
                () -> config.get().queue().destinationConcurrencyLimit(), node);
        queue.shaping(shaper);
        metrics.bindShaping(shaper);
        cluster.link().ifPresent(link -> new SharedShaping(link, shaper, clock).start());
        queue.addObserver(metrics);
        LocalSuppressions onDisk = LocalSuppressions.open(options.spoolDir(), clock,
                () -> config.get().events().suppressionLifetime());
        suppressions = cluster.link().<SuppressionList>map(link -> new SharedSuppressions(onDisk, link)).orElse(onDisk);
        queue.suppressions(suppressions);
        queue.receivedEvents(feed::wantsReceived);
        metrics.bindQueue(queue, clock);
        feed.start();
        checkpoints = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mta-outbox-checkpoint");
            t.setDaemon(true);
            return t;
        });
        checkpoints.scheduleWithFixedDelay(() -> outbox.checkpoint(feed.namedPositions(), config.get().events().queueLimit()),
                CHECKPOINT_INTERVAL.toMillis(), CHECKPOINT_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        queue.recover();
        AtomicInteger submitThreads = new AtomicInteger();
        submitter = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "mta-submit-" + submitThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        intake = new Intake(spool, config, queue, metrics, clock, submitter, this::milterTimer);
        TlsPolicyHealth tlsHealth = new TlsPolicyHealth(clock);
        reports = SmtpDeliveryAgent.policyDns(resolver).map(dns -> TlsReports.start(config, dns, () -> https.forConfig(config.get()),
                options.spoolDir(), cluster.link(), (sender, rcpts, bytes) -> intake.submit(sender, rcpts, out -> out.write(bytes)),
                clock)).orElse(null);
        agent.onTlsResult(r -> {
            metrics.tlsPolicy(r);
            tlsHealth.accept(r);
            if (reports != null) {
                reports.accept(r);
            }
        });
        internals = new EngineInternals(group, intake::receive, metrics, config, queue.control(), agent.health(), cluster,
                tlsHealth, sts, reports, feed, suppressions, domain -> agent.explainTls(config.get(), domain).thenApply(Json::write),
                shaper);
        if (options.watchedDir() != null) {
            ConfigLoader loader = new ConfigLoader(options.watchedEnv(), options.watchedDir());
            watcher = new ConfigWatcher(options.watchedDir(), options.watchedEnv(), loader::load,
                    options.watchedCurrent()::get, options.watchedCurrent()::set).start(Duration.ofMillis(500));
        }
    }

    /**
     * NIO event loops through the one constructor that Netty 4.1 and 4.2 both have (deprecated in
     * 4.2, where it builds the same MultiThreadIoEventLoopGroup): the library then runs beside
     * whichever Netty line the application pins, without a second relocated copy of Netty.
     */
    @SuppressWarnings("deprecation")
    private static EventLoopGroup newEventLoops() {
        return new NioEventLoopGroup(2, r -> {
            Thread t = new Thread(r, "mta-netty");
            t.setDaemon(true);
            return t;
        });
    }

    /** The timer bounding milter I/O, made when a message first meets a milter, stopped with the engine. */
    private synchronized ScheduledExecutorService milterTimer() {
        if (milterTimer == null) {
            milterTimer = Milters.newTimer();
        }
        return milterTimer;
    }

    public Intake intake() {
        return intake;
    }

    public EngineInternals internals() {
        return internals;
    }

    public QueueManager queue() {
        return queue;
    }

    public SuppressionList suppressions() {
        return suppressions;
    }

    public EventFeed events() {
        return feed;
    }

    /** The TLS reports (null without the engine's own DNS): {@code checkNow} sends what is due. */
    public TlsReports tlsReports() {
        return reports;
    }

    public List<String> oauth2Warnings() {
        return tokens == null ? List.of() : tokens.warnings();
    }

    /** False when the spool cannot accept mail (directory not writable, failed fsync, too little free space). */
    public boolean healthy() {
        return spool != null && spool.healthy() && hasRoomForMail();
    }

    /** Postfix's check before MAIL: free space at least {@code queue_minfree} and 1.5 x {@code message_size_limit}. */
    public boolean hasRoomForMail() {
        RelayConfig cfg = config.get();
        return spool != null && spool.usableSpace() >= cfg.queue().requiredFreeSpace(cfg.content().messageSizeLimit());
    }

    /** Stops taking mail, lets running deliveries finish up to {@code grace}, and stops; the rest stays spooled. */
    public void close(Duration grace) {
        if (watcher != null) {
            watcher.close();
        }
        if (submitter != null) {
            submitter.shutdown();
            try {
                submitter.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (reports != null) {
            reports.close();
        }
        if (queue != null) {
            queue.close(grace);
        }
        if (checkpoints != null) {
            checkpoints.shutdownNow();
        }
        if (feed != null) {
            feed.close(grace.compareTo(Duration.ofSeconds(5)) < 0 ? grace : Duration.ofSeconds(5));
        }
        if (outbox != null) {
            // After the queue: the last outcomes are recorded; the checkpoint then says the spool agrees.
            outbox.close(feed == null ? List.of() : feed.namedPositions());
        }
        if (agent != null) {
            agent.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (spool != null) {
            spool.close();
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
        synchronized (this) {
            if (milterTimer != null) {
                milterTimer.shutdownNow();
            }
        }
        if (spoolLock != null) {
            spoolLock.close();
        }
    }
}
