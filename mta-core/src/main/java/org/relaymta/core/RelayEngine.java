package org.relaymta.core;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.IncomingMessage;
import org.relaymta.core.internal.delivery.DnsHostResolver;
import org.relaymta.core.internal.delivery.HostResolver;
import org.relaymta.core.internal.delivery.SmtpDeliveryAgent;
import org.relaymta.core.internal.metrics.RelayMetrics;
import org.relaymta.core.internal.queue.QueueManager;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;

/**
 * The relay engine, and the library's entry point: durable spool, queue manager and SMTP
 * delivery, wired together. Applications {@link #submit} messages (the returned future completes
 * with the queue id once the message is durable), listen to delivery events, and inspect and
 * control the queue; the server's SMTP listener hands messages in through {@link #receive}.
 *
 * <pre>{@code
 * try (RelayEngine relay = RelayEngine.builder()
 *         .spoolDirectory(Path.of("data/spool"))
 *         .settings(RelaySettings.defaults().defaultRelayHost("[smtp.example.com]:587").credentials("user", secret))
 *         .listener(event -> log.info(event.logLine()))
 *         .build().start()) {
 *     String queueId = relay.submit(mimeMessage).get();
 * }
 * }</pre>
 *
 * Several engines may run in one JVM (each with its own spool); nothing is global, and every thread
 * an engine starts is named {@code mta-*} and stops on {@link #close()}.
 *
 * <p>Over 400 lines: it is the public API with its builder and exceptions, kept in one type so an
 * application reads one page, and it wires spool, queue, delivery, tokens, metrics, reload and the
 * cleanup step (DKIM, header checks, milters) in one place. The wiring is the part to move out next.
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
    private final WatchedConfig watchedConfig;

    /** A config directory to watch for changes (hot reload). */
    private record WatchedConfig(Path dir, org.relaymta.config.internal.Env env,
                                 java.util.concurrent.atomic.AtomicReference<RelayConfig> current) {
    }

    private EventLoopGroup group;
    private HostResolver resolver;
    private Spool spool;
    private org.relaymta.core.internal.spool.SpoolLock spoolLock;
    private QueueManager queue;
    private SmtpDeliveryAgent agent;
    private org.relaymta.core.internal.oauth2.OAuth2Tokens tokens;
    private java.util.concurrent.ExecutorService submitter;
    private org.relaymta.config.internal.ConfigWatcher watcher;
    private volatile boolean closed;
    private boolean stopped;
    private java.util.concurrent.ScheduledExecutorService milterTimer;
    private org.relaymta.core.internal.cluster.Cluster cluster;
    private final Duration shutdownGrace;

    private RelayEngine(Builder b) {
        this.spoolDir = Objects.requireNonNull(b.spoolDir, "spoolDir");
        this.config = Objects.requireNonNull(b.config, "config: give settings(...), config(...) or configDirectory(...)");
        this.watchedConfig = b.watchedConfig;
        this.clock = b.clock;
        this.dnsServers = List.copyOf(b.dnsServers);
        this.directPort = b.directPort;
        this.listeners = List.copyOf(b.listeners);
        this.deliveryThreads = b.deliveryThreads;
        this.shutdownGrace = b.shutdownGrace;
        this.metrics = new RelayMetrics(b.meterRegistry != null ? b.meterRegistry
                : new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Takes the spool (one owner at a time: a second engine or relay on the same directory gets
     * {@link org.relaymta.core.internal.spool.SpoolLock.InUseException}), starts delivery, and schedules
     * every message already in the spool.
     */
    public RelayEngine start() throws IOException {
        spoolLock = org.relaymta.core.internal.spool.SpoolLock.acquire(spoolDir);
        try {
            startOwned();
            org.relaymta.core.internal.RunningEngines.started(this);
            return this;
        } catch (IOException | RuntimeException e) {
            close(Duration.ZERO);
            throw e;
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

    private RelayEngine startOwned() throws IOException {
        spool = Spool.open(spoolDir, clock);
        spool.onFsync(metrics::fsync);
        group = newEventLoops();
        resolver = new DnsHostResolver(group, dnsServers);
        tokens = new org.relaymta.core.internal.oauth2.OAuth2Tokens(config, clock);
        metrics.bindOAuth2(tokens, config.get().routing().oauth2Profiles().keySet());
        agent = new SmtpDeliveryAgent(group, resolver, directPort, tokens, clock);
        metrics.bindRelayHealth(agent.health());
        agent.onSession(metrics::outboundSession);
        // Twice the per-destination limit, so one slow destination cannot hold every delivery thread.
        int threads = deliveryThreads > 0 ? deliveryThreads : Math.max(8, 2 * config.get().queue().destinationConcurrencyLimit());
        RelayConfig started = config.get();
        cluster = org.relaymta.core.internal.cluster.Cluster.start(started.cluster(),
                started.myhostname() + "/" + ProcessHandle.current().pid() + "/" + Integer.toHexString(System.identityHashCode(this)),
                agent.health(), clock);
        metrics.bindCluster(cluster);
        queue = new QueueManager(spool, config, agent, clock, threads, cluster.quotas());
        queue.addListener(metrics);
        listeners.forEach(queue::addListener);
        metrics.bindQueue(queue, clock);
        queue.recover();
        AtomicInteger submitThreads = new AtomicInteger();
        submitter = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "mta-submit-" + submitThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        if (watchedConfig != null) {
            org.relaymta.config.internal.ConfigLoader loader = new org.relaymta.config.internal.ConfigLoader(watchedConfig.env(), watchedConfig.dir());
            watcher = new org.relaymta.config.internal.ConfigWatcher(watchedConfig.dir(), watchedConfig.env(), loader::load,
                    watchedConfig.current()::get, watchedConfig.current()::set).start(Duration.ofMillis(500));
        }
        return this;
    }

    /**
     * Queues a message; the future completes with the queue id once the message is durable in the
     * spool, or fails with {@link IllegalArgumentException} (bad address), {@link MessageTooLargeException}
     * or {@link IOException} (spool not writable). The content is RFC 5322 bytes; line ends are
     * made CRLF on the way in.
     */
    public java.util.concurrent.CompletableFuture<String> submit(String sender, List<String> recipients, InputStream content) {
        return submitAsync(sender, recipients, out -> content.transferTo(out));
    }

    /** As {@link #submit(String, List, InputStream)} with the content in memory. */
    public java.util.concurrent.CompletableFuture<String> submit(String sender, List<String> recipients, byte[] content) {
        byte[] copy = content.clone();
        return submitAsync(sender, recipients, out -> out.write(copy));
    }

    /** Queues a Jakarta Mail message to its To/Cc/Bcc recipients, from its Sender or first From address. */
    public java.util.concurrent.CompletableFuture<String> submit(jakarta.mail.internet.MimeMessage message) {
        try {
            List<String> recipients = new ArrayList<>();
            jakarta.mail.Address[] all = message.getAllRecipients();
            if (all != null) {
                for (jakarta.mail.Address a : all) {
                    recipients.add(((jakarta.mail.internet.InternetAddress) a).getAddress());
                }
            }
            jakarta.mail.Address from = message.getSender() != null ? message.getSender()
                    : message.getFrom() == null || message.getFrom().length == 0 ? null : message.getFrom()[0];
            String sender = from == null ? "" : ((jakarta.mail.internet.InternetAddress) from).getAddress();
            return submit(message, sender, recipients);
        } catch (jakarta.mail.MessagingException | ClassCastException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(
                    new IllegalArgumentException("cannot read the message's addresses: " + e.getMessage(), e));
        }
    }

    /** Queues a Jakarta Mail message with an explicit envelope. */
    public java.util.concurrent.CompletableFuture<String> submit(jakarta.mail.internet.MimeMessage message, String sender,
                                                                 List<String> recipients) {
        try {
            message.saveChanges();
        } catch (jakarta.mail.MessagingException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(new IllegalArgumentException(
                    "cannot prepare the message: " + e.getMessage(), e));
        }
        return submitAsync(sender, recipients, out -> {
            try {
                message.writeTo(out);
            } catch (jakarta.mail.MessagingException e) {
                throw new IOException("cannot write the message: " + e.getMessage(), e);
            }
        });
    }

    private interface ContentWriter {
        void write(java.io.OutputStream out) throws IOException;
    }

    private java.util.concurrent.CompletableFuture<String> submitAsync(String sender, List<String> recipients,
                                                                       ContentWriter content) {
        if (closed || submitter == null) {
            return java.util.concurrent.CompletableFuture.failedFuture(
                    new IllegalStateException("the relay is not running (start() it; after close() it takes no mail)"));
        }
        Envelope envelope;
        try {
            envelope = new Envelope(validSender(sender), validRecipients(recipients), clock.instant(), "");
        } catch (IllegalArgumentException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            long limit = config.get().content().messageSizeLimit();
            try (IncomingMessage message = receive(envelope)) {
                java.io.OutputStream limited = new org.relaymta.core.internal.spool.LimitedOutputStream(message.content(), limit,
                        () -> 0, () -> new MessageTooLargeException(limit));
                content.write(limited);
                return message.commit();
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, submitter);
    }

    private static String validSender(String sender) {
        String s = sender == null ? "" : sender.strip();
        if (s.equals("<>")) {
            return "";
        }
        if (!s.isEmpty()) {
            checkAddress(s, "sender", sender);
        }
        return s;
    }

    private static List<String> validRecipients(List<String> recipients) {
        if (recipients == null || recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
        List<String> out = new ArrayList<>();
        for (String r : recipients) {
            String a = r == null ? "" : r.strip();
            checkAddress(a, "recipient", r);
            out.add(a);
        }
        return out;
    }

    /** RFC 5321 mailbox syntax, the same check as {@code mta sendmail}'s; the message says what is wrong, escaped. */
    private static void checkAddress(String address, String what, String given) {
        org.relaymta.config.internal.Mailbox.problem(address).ifPresent(p -> {
            throw new IllegalArgumentException("invalid " + what + " address '"
                    + org.relaymta.config.internal.LogText.escape(String.valueOf(given)) + "': " + p);
        });
    }

    /** The message is larger than {@code message_size_limit}. */
    /**
     * The message was refused by its content ({@code header_checks} REJECT, a milter's reject or
     * tempfail): the future of {@code submit} fails with this; the SMTP listener answers with
     * {@link #reply()}. The message is not queued.
     */
    public static final class MessageRejectedException extends IOException {
        private final String reply;

        /** {@code reply} as SMTP has it: {@code 550 5.7.1 text} or {@code 451 4.7.1 text}. */
        public MessageRejectedException(String reply) {
            super(reply);
            this.reply = reply;
        }

        /** The SMTP reply: code, enhanced status code, text. */
        public String reply() {
            return reply;
        }

        /** The reply code: 5xx refused for good, 4xx try again later. */
        public int code() {
            try {
                return Integer.parseInt(reply.substring(0, 3));
            } catch (RuntimeException e) {
                return 550;
            }
        }
    }

    public static final class MessageTooLargeException extends IOException {
        public MessageTooLargeException(long limit) {
            super("message exceeds the size limit of " + limit + " bytes");
        }
    }

    /** A Jakarta Mail session whose {@code Transport.send} queues into this relay (protocol {@code relaymta}). */
    public jakarta.mail.Session mailSession() {
        return mailSession(new java.util.Properties());
    }

    /** As {@link #mailSession()}, with the application's own properties added. */
    public jakarta.mail.Session mailSession(java.util.Properties properties) {
        java.util.Properties p = new java.util.Properties();
        p.putAll(properties);
        p.put("mail.transport.protocol", org.relaymta.core.mail.RelayTransport.PROTOCOL);
        p.put("mail.transport.protocol.rfc822", org.relaymta.core.mail.RelayTransport.PROTOCOL);
        p.put(org.relaymta.core.mail.RelayTransport.RELAY_PROPERTY, this);
        return jakarta.mail.Session.getInstance(p);
    }

    /** Adds a delivery event listener (sent, deferred, bounced, expired). */
    public void addListener(DeliveryListener listener) {
        queue.addListener(listener);
    }

    /** What OAuth2 relay authentication needs an operator for (failing token requests, refresh tokens near their end). */
    public java.util.List<String> oauth2Warnings() {
        return tokens == null ? java.util.List.of() : tokens.warnings();
    }

    /** The queue: list, show, hold, release, delete, requeue, flush, wait until empty. */
    public QueueControl queue() {
        return new org.relaymta.core.internal.queue.EngineQueueControl(queue.control());
    }

    /**
     * Not API: what the relay's own server module (the SMTP listener, the admin endpoint) needs of
     * the engine. It changes with the server; applications use the methods above.
     */
    public org.relaymta.core.internal.EngineInternals internals() {
        return new org.relaymta.core.internal.EngineInternals(group, this::receive, metrics, config, queue.control(),
                agent.health(), cluster);
    }

    private IncomingMessage receive(Envelope envelope) throws IOException {
        RelayConfig cfg = config.get();
        org.relaymta.core.internal.spool.SpoolWriter writer = spool.create(envelope);
        if (cfg.content().dkim().isEmpty() && cfg.content().headerChecks().isEmpty() && cfg.content().milters().isEmpty()) {
            return new IncomingMessage(writer, null, queue, metrics::messageReceived);   // nothing to clean up: straight to the spool
        }
        // Postfix: smtpd_milters for mail that came over SMTP, non_smtpd_milters for the rest.
        boolean overSmtp = envelope.clientAddress() != null && !envelope.clientAddress().isEmpty();
        org.relaymta.core.internal.cleanup.MessageCleanup.MilterPlan milters = new org.relaymta.core.internal.cleanup.MessageCleanup
                .MilterPlan(overSmtp ? cfg.content().milters().smtpd() : cfg.content().milters().nonSmtpd(), cfg.content().milters(), cfg.myhostname(),
                envelope.clientAddress(), this::milterTimer, cfg.content().messageSizeLimit(), spool.memory());
        org.relaymta.core.internal.cleanup.MessageCleanup cleanup =
                !org.relaymta.core.internal.cleanup.MessageCleanup.wanted(cfg.content().dkim(), cfg.content().headerChecks(), milters) ? null
                        : new org.relaymta.core.internal.cleanup.MessageCleanup(writer, cfg.content().dkim(), cfg.content().headerChecks(),
                                envelope.sender(), clock, metrics::dkimSigned, writer.id()).milters(milters);
        return new IncomingMessage(writer, cleanup, queue, metrics::messageReceived);
    }

    /** The timer bounding milter I/O, made when a message first meets a milter, stopped by {@link #close()}. */
    private synchronized java.util.concurrent.ScheduledExecutorService milterTimer() {
        if (milterTimer == null) {
            milterTimer = org.relaymta.core.internal.milter.Milters.newTimer();
        }
        return milterTimer;
    }

    /** The engine's clock (the builder's; the system clock by default). */
    public Clock clock() {
        return clock;
    }

    /** False when the spool cannot accept mail (directory not writable, failed fsync, too little free space). */
    public boolean healthy() {
        return spool != null && spool.healthy() && hasRoomForMail();
    }

    /**
     * Whether the spool's file system has room for another message, as Postfix checks before
     * MAIL: free space at least {@code queue_minfree}, and at least 1.5 x {@code message_size_limit}.
     */
    public boolean hasRoomForMail() {
        RelayConfig cfg = config.get();
        return spool != null && spool.usableSpace() >= cfg.queue().requiredFreeSpace(cfg.content().messageSizeLimit());
    }

    public Path spoolDirectory() {
        return spoolDir;
    }

    /** Finishes running deliveries (up to the builder's {@code shutdownGrace}, 10 s by default) and stops; queued mail stays in the spool. */
    @Override
    public void close() {
        close(shutdownGrace);
    }

    /** Stops taking mail, lets running deliveries finish up to {@code grace}, and stops; the rest stays spooled. */
    public void close(Duration grace) {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        closed = true;
        org.relaymta.core.internal.RunningEngines.stopped(this);
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
        if (queue != null) {
            queue.close(grace);
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

    public static final class Builder {
        private Path spoolDir;
        private Supplier<RelayConfig> config;
        private Clock clock = Clock.systemUTC();
        private List<InetSocketAddress> dnsServers = List.of();
        private int directPort = 25;
        private final List<DeliveryListener> listeners = new ArrayList<>();
        private int deliveryThreads;
        private Duration shutdownGrace = Duration.ofSeconds(10);
        private io.micrometer.core.instrument.MeterRegistry meterRegistry;
        private WatchedConfig watchedConfig;

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

        /** Settings as Java values. */
        public Builder settings(org.relaymta.config.RelaySettings settings) {
            return config(settings.build());
        }

        /**
         * A config directory in docker-mailserver's layout, with the DMS variables in {@code env};
         * reloaded when its files change. Throws {@link org.relaymta.config.ConfigException} now if invalid.
         */
        public Builder configDirectory(Path dir, java.util.Map<String, String> env) {
            org.relaymta.config.internal.Env e = new org.relaymta.config.internal.Env(env);
            java.util.concurrent.atomic.AtomicReference<RelayConfig> current = new java.util.concurrent.atomic.AtomicReference<>(
                    new org.relaymta.config.internal.ConfigLoader(e, dir).load());
            this.watchedConfig = new WatchedConfig(dir, e, current);
            return config(current::get);
        }

        /** How long {@link RelayEngine#close()} lets running deliveries finish (default 10 s). */
        public Builder shutdownGrace(Duration grace) {
            this.shutdownGrace = Objects.requireNonNull(grace, "grace");
            return this;
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

        /** Delivery threads; default: twice the destination concurrency limit. */
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
