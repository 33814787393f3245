package org.relaymta.core;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.Assembly;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.core.internal.EngineInternals;
import org.relaymta.core.internal.Intake;
import org.relaymta.core.internal.MailProperties;
import org.relaymta.core.internal.RunningEngines;
import org.relaymta.core.internal.outbox.EventFeed;
import org.relaymta.core.internal.queue.EngineQueueControl;
import org.relaymta.core.queue.MessageTooLargeException;
import org.relaymta.core.queue.QueueControl;
import org.relaymta.core.queue.SuppressionList;

/**
 * The relay engine, and the library's entry point: durable spool, queue manager and SMTP
 * delivery, wired together. Applications {@link #submit} messages (the returned future completes
 * with the queue id once the message is durable), listen to delivery events, and inspect and
 * control the queue. The server's SMTP listener hands messages in through the same intake.
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
 * <p>A facade: what a running relay is made of, and the order it starts and stops in, is
 * {@code core.internal.Assembly}; the way into the spool is {@code core.internal.Intake}.
 */
public final class RelayEngine implements AutoCloseable {
    static {
        EngineAccess.install(new EngineAccess.Accessor() {
            @Override
            public EngineInternals internals(Object engine) {
                return ((RelayEngine) engine).running().internals();
            }

            @Override
            public void config(Object builder, Supplier<RelayConfig> config) {
                ((Builder) builder).config = config;
            }

            @Override
            public void fence(Object builder, org.relaymta.core.internal.spool.SpoolFence fence, boolean adopted) {
                ((Builder) builder).fence = fence;
                ((Builder) builder).adopted = adopted;
            }
        });
    }

    private final Path spoolDir;
    private final Clock clock;
    private final Duration shutdownGrace;
    private final Assembly assembly;
    private final RunningEngines.Running registration;
    private volatile boolean running;
    private boolean stopped;

    private RelayEngine(Builder b) {
        this.spoolDir = Objects.requireNonNull(b.spoolDir, "spoolDir");
        Objects.requireNonNull(b.config, "config: give settings(...) or configDirectory(...)");
        this.clock = b.clock;
        this.shutdownGrace = b.shutdownGrace;
        this.assembly = new Assembly(new Assembly.Options(spoolDir, b.config, b.watchedDir, b.watchedEnv, b.watchedCurrent,
                clock, List.copyOf(b.dnsServers), b.directPort, List.copyOf(b.listeners), Map.copyOf(b.namedListeners),
                b.deliveryThreads,
                b.meterRegistry != null ? b.meterRegistry : new SimpleMeterRegistry(), b.fence, b.adopted));
        this.registration = new RunningEngines.Running(spoolDir, (m, s, r, requireTls) -> submit(m, s, r,
                requireTls ? new SubmitOption[] {SubmitOption.REQUIRE_TLS} : new SubmitOption[0]));
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Takes the spool (one owner at a time: a second engine or relay on the same directory gets an
     * {@link IOException} naming the owner), starts delivery, and schedules every message already in
     * the spool.
     */
    public RelayEngine start() throws IOException {
        synchronized (this) {
            if (stopped || running) {
                throw new IllegalStateException(stopped ? "the relay was closed; build a new one" : "the relay is already started");
            }
            try {
                assembly.start(this);
            } catch (IOException | RuntimeException e) {
                stopped = true;   // what started is stopped again; a relay is started once
                throw e;
            }
            running = true;
        }
        RunningEngines.started(registration);
        return this;
    }

    private Assembly running() {
        if (!running) {
            throw new IllegalStateException("the relay is not running (start() it; after close() it takes no mail)");
        }
        return assembly;
    }

    /**
     * Queues a message; the future completes with the queue id once the message is durable in the
     * spool, or fails with {@link IllegalArgumentException} (bad address), {@link MessageTooLargeException}
     * or {@link IOException} (spool not writable). The content is RFC 5322 bytes; line ends are
     * made CRLF on the way in.
     */
    public CompletableFuture<String> submit(String sender, List<String> recipients, InputStream content) {
        return submit(sender, recipients, out -> content.transferTo(out));
    }

    /** As {@link #submit(String, List, InputStream)} with the content in memory. */
    public CompletableFuture<String> submit(String sender, List<String> recipients, byte[] content) {
        return submit(sender, recipients, content, new SubmitOption[0]);
    }

    /** As {@link #submit(String, List, byte[])}, with REQUIRETLS or {@code TLS-Required: No} ({@link SubmitOption}). */
    public CompletableFuture<String> submit(String sender, List<String> recipients, byte[] content, SubmitOption... options) {
        byte[] copy = content.clone();
        boolean noTlsRequired = List.of(options).contains(SubmitOption.TLS_NOT_REQUIRED);
        return submit(sender, recipients, out -> {
            if (noTlsRequired) {
                out.write("TLS-Required: No\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write(copy);
        }, options);
    }

    /** Queues a Jakarta Mail message to its To/Cc/Bcc recipients, from its Sender or first From address. */
    public CompletableFuture<String> submit(MimeMessage message) {
        try {
            List<String> recipients = new ArrayList<>();
            Address[] all = message.getAllRecipients();
            if (all != null) {
                for (Address a : all) {
                    recipients.add(((InternetAddress) a).getAddress());
                }
            }
            Address from = message.getSender() != null ? message.getSender()
                    : message.getFrom() == null || message.getFrom().length == 0 ? null : message.getFrom()[0];
            String sender = from == null ? "" : ((InternetAddress) from).getAddress();
            return submit(message, sender, recipients);
        } catch (MessagingException | ClassCastException e) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("cannot read the message's addresses: " + e.getMessage(), e));
        }
    }

    /** Queues a Jakarta Mail message with an explicit envelope. */
    public CompletableFuture<String> submit(MimeMessage message, String sender, List<String> recipients) {
        return submit(message, sender, recipients, new SubmitOption[0]);
    }

    /** As {@link #submit(MimeMessage, String, List)}, with REQUIRETLS or {@code TLS-Required: No} ({@link SubmitOption}). */
    public CompletableFuture<String> submit(MimeMessage message, String sender, List<String> recipients,
                                            SubmitOption... options) {
        try {
            if (List.of(options).contains(SubmitOption.TLS_NOT_REQUIRED)) {
                message.setHeader("TLS-Required", "No");
            }
            message.saveChanges();
        } catch (MessagingException e) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("cannot prepare the message: " + e.getMessage(), e));
        }
        return submit(sender, recipients, out -> {
            try {
                message.writeTo(out);
            } catch (MessagingException e) {
                throw new IOException("cannot write the message: " + e.getMessage(), e);
            }
        }, options);
    }

    private CompletableFuture<String> submit(String sender, List<String> recipients, Intake.Content content,
                                             SubmitOption... options) {
        if (!running) {
            return CompletableFuture.failedFuture(
                    new IllegalStateException("the relay is not running (start() it; after close() it takes no mail)"));
        }
        return assembly.intake().submit(sender, recipients, content, List.of(options).contains(SubmitOption.REQUIRE_TLS));
    }

    /** A Jakarta Mail session whose {@code Transport.send} queues into this relay (protocol {@code relaymta}). */
    public Session mailSession() {
        return mailSession(new Properties());
    }

    /** As {@link #mailSession()}, with the application's own properties added. */
    public Session mailSession(Properties properties) {
        Properties p = new Properties();
        p.putAll(properties);
        p.put("mail.transport.protocol", MailProperties.PROTOCOL);
        p.put("mail.transport.protocol.rfc822", MailProperties.PROTOCOL);
        p.put(MailProperties.RELAY_PROPERTY, this);
        return Session.getInstance(p);
    }

    /** Adds a delivery event listener (sent, deferred, bounced, expired, held, deleted): the events from now on. */
    public void addListener(DeliveryListener listener) {
        running().events().addListener(listener);
    }

    /**
     * Waits until every listener has been handed every event recorded so far (listeners run on
     * their own threads, off the delivery path); false when {@code timeout} passed first.
     */
    public boolean awaitListeners(Duration timeout) throws InterruptedException {
        return running().events().await(timeout);
    }

    /** What OAuth2 relay authentication needs an operator for (failing token requests, refresh tokens near their end). */
    public List<String> oauth2Warnings() {
        return assembly.oauth2Warnings();
    }

    /** The queue: list, show, hold, release, delete, requeue, flush, wait until empty. */
    public QueueControl queue() {
        EventFeed feed = running().events();
        return new EngineQueueControl(running().queue().control(), feed::await);
    }

    /**
     * The suppression list: recipients that bounced hard ({@code suppress_hard_bounces}) or were
     * added here; mail to them bounces at once with a {@code suppressed} event.
     */
    public SuppressionList suppressions() {
        return running().suppressions();
    }

    /** The engine's clock (the builder's; the system clock by default). */
    public Clock clock() {
        return clock;
    }

    /** False when the spool cannot accept mail (directory not writable, failed fsync, too little free space). */
    public boolean healthy() {
        return running && assembly.healthy();
    }

    /**
     * Whether the spool's file system has room for another message, as Postfix checks before
     * MAIL: free space at least {@code queue_minfree}, and at least 1.5 x {@code message_size_limit}.
     */
    public boolean hasRoomForMail() {
        return running && assembly.hasRoomForMail();
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
            running = false;
        }
        RunningEngines.stopped(registration);
        assembly.close(grace);
    }

    public static final class Builder {
        private Path spoolDir;
        private Supplier<RelayConfig> config;
        private org.relaymta.core.internal.spool.SpoolFence fence;
        private boolean adopted;
        private Path watchedDir;
        private Env watchedEnv;
        private AtomicReference<RelayConfig> watchedCurrent;
        private Clock clock = Clock.systemUTC();
        private List<InetSocketAddress> dnsServers = List.of();
        private int directPort = 25;
        private final List<DeliveryListener> listeners = new ArrayList<>();
        private final Map<String, DeliveryListener> namedListeners = new LinkedHashMap<>();
        private int deliveryThreads;
        private Duration shutdownGrace = Duration.ofSeconds(10);
        private MeterRegistry meterRegistry;

        private Builder() {
        }

        public Builder spoolDirectory(Path dir) {
            this.spoolDir = dir;
            return this;
        }

        /** Settings as Java values. */
        public Builder settings(RelaySettings settings) {
            RelayConfig snapshot = settings.build();
            this.config = () -> snapshot;
            this.watchedDir = null;
            return this;
        }

        /**
         * A config directory in docker-mailserver's layout, with the DMS variables in {@code env};
         * reloaded when its files change. Throws {@link org.relaymta.config.ConfigException} now if invalid.
         */
        public Builder configDirectory(Path dir, Map<String, String> env) {
            Env e = new Env(env);
            AtomicReference<RelayConfig> current = new AtomicReference<>(new ConfigLoader(e, dir).load());
            this.watchedDir = dir;
            this.watchedEnv = e;
            this.watchedCurrent = current;
            this.config = current::get;
            return this;
        }

        /** How long {@link RelayEngine#close()} lets running deliveries finish (default 10 s). */
        public Builder shutdownGrace(Duration grace) {
            this.shutdownGrace = Objects.requireNonNull(grace, "grace");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** DNS servers for MX lookups; empty: those of {@code /etc/resolv.conf}. */
        public Builder dnsServers(List<InetSocketAddress> servers) {
            this.dnsServers = List.copyOf(servers);
            return this;
        }

        /** Port for direct delivery to MX hosts (25 unless a test or closed network needs another). */
        public Builder directDeliveryPort(int port) {
            this.directPort = port;
            return this;
        }

        /** A listener for the events from the relay's start on (none from before a restart). */
        public Builder listener(DeliveryListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * A named listener: its position in the event outbox is kept in the spool, so after a crash
         * or restart it gets every event it had not been handed yet (at least once; an event seen
         * again has the same {@link org.relaymta.core.event.DeliveryEvent#sequence()}). The outbox
         * keeps events until every named listener has had them. A name is 1 to 64 letters, digits,
         * '.', '-' or '_', and one listener per name.
         */
        public Builder listener(String name, DeliveryListener listener) {
            if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
                throw new IllegalArgumentException("a listener name is 1 to 64 letters, digits, '.', '-' or '_'");
            }
            if (namedListeners.putIfAbsent(name, Objects.requireNonNull(listener, "listener")) != null) {
                throw new IllegalArgumentException("a listener named '" + name + "' is given already");
            }
            return this;
        }

        /** Delivery threads; default: twice the destination concurrency limit. */
        public Builder deliveryThreads(int threads) {
            this.deliveryThreads = threads;
            return this;
        }

        /** Where meters go (Prometheus in the server); default: an in-memory registry. */
        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = registry;
            return this;
        }

        public RelayEngine build() {
            return new RelayEngine(this);
        }
    }
}
