package org.relaymta.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.ConfigWatcher;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.relaymta.server.admin.AdminAccess;
import org.relaymta.server.admin.AdminServer;
import org.relaymta.server.admin.ShapingJson;
import org.relaymta.server.smtp.RelayListener;
import org.relaymta.server.tls.ServerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay process: configuration, engine and SMTP listener, started and stopped together.
 *
 * <p>Over 400 lines because it orders the whole process's start and stop (spool takeover, engine,
 * listeners, admin endpoint, reload) and composes its {@code /health}; each part's work lives in
 * that part.
 */
public final class RelayServer implements AutoCloseable {
    /** In the spool directory: the running relay's admin address, for {@code mta queue}. */
    public static final String ADMIN_ADDRESS_FILE = "admin.address";
    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

    private final ServerSettings settings;
    private final AtomicReference<RelayConfig> config = new AtomicReference<>();
    private final RelayEngine engine;
    private final RelayListener listener;
    private RelayListener.Shared shared;
    private final List<RelayListener> extraListeners = new ArrayList<>();
    private final PrometheusMeterRegistry registry =
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConfigWatcher watcher;
    private final AdminServer admin;
    /** Spool takeover (MTA_SPOOL_TAKEOVER), or null. */
    private final SpoolOwnership ownership;

    private RelayServer(ServerSettings settings, RelayConfig initial, Clock clock, DeliveryListener... listeners)
            throws IOException {
        this.config.set(initial);
        if (initial.cluster().takeover().on()) {
            // The spool root is shared by the nodes: this node's spool is ROOT/NODE-ID, claimed first.
            Path root = settings.spoolDir();
            ServerSettings shared = settings;
            this.ownership = SpoolOwnership.claim(root, initial.cluster(), clock, () -> adoptedEngine(shared, clock),
                    this::spoolLost, registry);
            settings = settings.withSpoolDir(ownership.spoolDir());
        } else {
            this.ownership = null;
        }
        this.settings = settings;
        RelayEngine.Builder b = RelayEngine.builder()
                .spoolDirectory(settings.spoolDir())
                .meterRegistry(registry)
                .clock(clock)
                .dnsServers(settings.dnsServers())
                .directDeliveryPort(settings.directPort());
        EngineAccess.config(b, config::get);   // the server reloads its config directory itself
        if (ownership != null) {
            EngineAccess.fence(b, ownership.fence(), false);
        }
        for (DeliveryListener l : listeners) {
            b.listener(l);
        }
        // The listener's TLS set-up (key, certificate, JSSE) runs on another core while the engine
        // starts: half a second less to listening on a 2-core machine.
        CompletableFuture<SSLContext> tlsSetup = new CompletableFuture<>();
        Thread tlsThread = new Thread(() -> {
            try {
                tlsSetup.complete(initial.listener().tlsCertFile().isPresent()
                        ? ServerTls.fromPem(initial.listener().tlsCertFile().get(), initial.listener().tlsKeyFile().orElseThrow())
                        : ServerTls.selfSigned(this.settings.dataDir().resolve("tls"), initial.myhostname()));
            } catch (IOException | RuntimeException e) {
                tlsSetup.completeExceptionally(e);
            }
        }, "mta-tls-setup");
        tlsThread.setDaemon(true);
        tlsThread.start();
        try {
            this.engine = b.build().start();
        } catch (IOException | RuntimeException e) {
            tlsSetup.exceptionally(x -> null).join();
            throw e;
        }
        try {
            SSLContext tls;
            try {
                tls = tlsSetup.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(e.getCause());
            }
            shared = new RelayListener.Shared(engine, tls);
            this.listener = new RelayListener(shared, settings.listen(), RelayListener.Mode.RELAY);
            start(listener, settings.listen());
            if (settings.submissionListen() != null) {
                RelayListener l = new RelayListener(shared, settings.submissionListen(), RelayListener.Mode.SUBMISSION);
                start(l, settings.submissionListen());
                extraListeners.add(l);
            }
            if (settings.smtpsListen() != null) {
                RelayListener l = new RelayListener(shared, settings.smtpsListen(), RelayListener.Mode.SMTPS);
                start(l, settings.smtpsListen());
                extraListeners.add(l);
            }
        } catch (RuntimeException | IOException e) {
            extraListeners.forEach(RelayListener::close);
            if (shared != null) {
                shared.close();
            }
            engine.close();
            throw e;
        }
        // Hot reload: new snapshots apply to the next delivery and the next SMTP session; nothing restarts.
        ConfigLoader loader = new ConfigLoader(settings.env(), settings.configDir());
        this.watcher = new ConfigWatcher(settings.configDir(), settings.env(), loader::load, config::get, config::set)
                .start(RELOAD_CHECK_INTERVAL);
        FunctionCounter.builder("mta.config.reloads", watcher, ConfigWatcher::reloads)
                .tag("result", "ok").register(registry);
        FunctionCounter.builder("mta.config.reloads", watcher, ConfigWatcher::failures)
                .tag("result", "failed").register(registry);
        AdminServer adminServer = null;
        if (settings.adminListen() != null) {
            try {
                AdminAccess access = AdminAccess.forRelay(settings.env(), settings.spoolDir(), settings.adminListen());
                adminServer = new AdminServer(settings.adminListen(), EngineAccess.internals(engine).eventLoops(), EngineAccess.internals(engine).queue(),
                        access, this::health, registry::scrape, domain -> EngineAccess.internals(engine).tlsPolicy(domain),
                        () -> EngineAccess.internals(engine).config(), engine.suppressions(), EngineAccess.internals(engine).shaper(),
                        ownership == null ? null : new AdminServer.ClusterView() {
                            @Override
                            public String status() {
                                JsonObject o = ownership.status();
                                o.add("leases", ownership.leases());
                                return Json.write(o);
                            }

                            @Override
                            public void handBack(String spool) throws Exception {
                                ownership.handBack(spool);
                            }
                        });
                InetAddress bound = settings.adminListen().getAddress();
                if (bound == null || !bound.isLoopbackAddress()) {
                    log.warn("admin endpoint listens on {}:{}, not on loopback: /health and /metrics are open to "
                            + "anyone who can reach it; queue listing and control need the admin token",
                            bound == null ? "*" : bound.getHostAddress(), adminServer.port());
                }
                // Where mta queue finds this relay when its address is not given.
                String address = (bound == null || bound.isAnyLocalAddress() ? "127.0.0.1" : bound.getHostAddress()) + ":"
                        + adminServer.port() + "\n";
                try (FileChannel f = SpoolFiles.open(
                        settings.spoolDir().resolve(ADMIN_ADDRESS_FILE), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    f.write(ByteBuffer.wrap(address.getBytes(StandardCharsets.US_ASCII)));
                }
            } catch (IOException e) {
                close();
                throw new IOException("cannot listen for admin requests on " + settings.adminListen().getAddress().getHostAddress()
                        + ":" + settings.adminListen().getPort() + ": " + e.getMessage(), e);
            }
        }
        this.admin = adminServer;
        if (ownership != null) {
            ownership.run(registry);
        }
    }

    /** An adopted spool's engine: the same configuration, DNS and ports; no listener. */
    private RelayEngine.Builder adoptedEngine(ServerSettings settings, Clock clock) {
        RelayEngine.Builder b = RelayEngine.builder().clock(clock).dnsServers(settings.dnsServers())
                .directDeliveryPort(settings.directPort());
        EngineAccess.config(b, config::get);
        return b;
    }

    /** Another node took this node's spool over: nothing more is delivered or accepted here. */
    private void spoolLost(String why) {
        if (ownership != null && ownership.exitWhenFenced()) {
            log.error("spool takeover: {}; exiting (MTA_SPOOL_FENCED=exit) so the node restarts and waits for its spool", why);
            Thread t = new Thread(() -> System.exit(75), "mta-fenced-exit");
            t.start();
            return;
        }
        log.error("spool takeover: {}; this node stops taking and delivering mail (MTA_SPOOL_FENCED=wait)", why);
        Thread t = new Thread(() -> {
            listener.close();
            extraListeners.forEach(RelayListener::close);
        }, "mta-fenced-stop");
        t.start();
    }

    /** Starts a listener; a bind failure says which address and why. */
    private static void start(RelayListener l, InetSocketAddress address) throws IOException {
        try {
            l.start();
        } catch (IOException | RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String where = (address.getAddress() == null ? "*" : address.getAddress().getHostAddress()) + ":" + address.getPort();
            throw new IOException("cannot listen for SMTP on " + where + ": " + root.getMessage(), e);
        }
    }

    /** Healthy when the listener runs and the spool can take mail; degraded while shared quotas are counted locally. */
    public AdminServer.Health health() {
        boolean spoolOk = engine.healthy();
        boolean listening = listener.running();
        boolean ok = spoolOk && listening && (ownership == null || !ownership.fenced());
        // Degraded, still serving: quotas are counted on this node (its share) while Redis is away.
        var cluster = EngineAccess.internals(engine).cluster().status();
        JsonObject h = Json.object();
        h.addProperty("status", "ok");   // set below, once every part is seen; first in the answer
        boolean[] degraded = {cluster.isPresent() && !cluster.get().shared()};
        h.addProperty("listener", listening);
        h.addProperty("spool_writable", spoolOk);
        h.addProperty("queue_size", engine.queue().size());
        JsonObject hops = Json.object();
        EngineAccess.internals(engine).relayHealth().states().forEach((hop, state) -> hops.addProperty(hop, state.label()));
        h.add("relay_hops", hops);
        cluster.ifPresent(c -> {
            JsonObject co = Json.object();
            co.addProperty("counting", c.shared() ? "shared" : "local");
            co.addProperty("nodes", c.nodes());
            co.addProperty("redis", c.redis());
            h.add("cluster", co);
        });
        JsonArray warnings = new JsonArray();
        var feed = EngineAccess.internals(engine).events();
        JsonArray sinks = new JsonArray();
        for (var sink : feed.sinks()) {
            var s = sink.status();
            long lag = feed.lag(sink);
            JsonObject so = Json.object();
            so.addProperty("sink", s.label());
            so.addProperty("lag", lag);
            so.addProperty("delivered", s.delivered());
            so.addProperty("lost", s.lost());
            so.addProperty("dropped", s.dropped());
            s.failingSince().ifPresent(t -> so.addProperty("failing_since", t.toString()));
            s.lastError().filter(e -> s.failingSince().isPresent()).ifPresent(e -> so.addProperty("last_error", e));
            sinks.add(so);
            List<String> said = s.warnings(engine.clock().instant(), lag);
            said.forEach(warnings::add);
            degraded[0] |= !said.isEmpty();
        }
        if (!sinks.isEmpty()) {
            h.add("event_sinks", sinks);
        }
        if (ownership != null) {
            JsonObject so = ownership.status();
            h.add("spool_takeover", so);
            if (ownership.fenced()) {
                warnings.add("spool takeover: another node took this node's spool over: nothing is delivered or accepted here");
            }
        }
        // Shaping actions in force: the relay works as it should (not degraded), and says why a destination is slow.
        var shaping = EngineAccess.internals(engine).shaper().list();
        if (!shaping.isEmpty()) {
            JsonArray actions = new JsonArray();
            shaping.forEach(a -> actions.add(ShapingJson.object(a)));
            h.add("shaping", actions);
        }
        engine.oauth2Warnings().forEach(warnings::add);
        EngineAccess.internals(engine).tlsPolicyWarnings().forEach(warnings::add);
        EngineAccess.internals(engine).config().warnings().forEach(w -> warnings.add("config: " + w));
        h.add("warnings", warnings);
        h.addProperty("status", !ok ? "unavailable" : degraded[0] ? "degraded" : "ok");
        return new AdminServer.Health(ok, Json.write(h) + "\n");
    }

    /** Ports of the submission and implicit-TLS listeners, in the order started. */
    public List<Integer> extraPorts() {
        return extraListeners.stream().map(RelayListener::port).toList();
    }

    /** Prometheus text of all meters. */
    public String scrapeMetrics() {
        return registry.scrape();
    }

    /** The admin endpoint's port, or -1 when it is off. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    static final Duration RELOAD_CHECK_INTERVAL = Duration.ofMillis(500);

    /** Loads the configuration (failing with a clear {@code ConfigException}), then starts everything. */
    public static RelayServer start(ServerSettings settings, DeliveryListener... listeners) throws IOException {
        return start(settings, Clock.systemUTC(), listeners);
    }

    /** As {@link #start(ServerSettings, DeliveryListener...)} with the queue's clock given (tests move time). */
    public static RelayServer start(ServerSettings settings, Clock clock, DeliveryListener... listeners)
            throws IOException {
        RelayConfig cfg = new ConfigLoader(settings.env(), settings.configDir()).load();
        for (String warning : cfg.warnings()) {
            log.warn("config: {}", warning);
        }
        if (cfg.myhostname().indexOf('.') < 0) {
            log.warn("config: myhostname {} is not a fully-qualified domain name: it is the EHLO name and the Received: host, "
                    + "and MX hosts may refuse or score it; set myhostname in postfix-main.cf (the default is the machine's "
                    + "fully-qualified name, and this machine has none)", cfg.myhostname());
        }
        warnIfSecretsReadable(settings.configDir().resolve(ConfigLoader.SASL_PASSWORD_FILE));
        return new RelayServer(settings, cfg, clock, listeners);
    }

    /**
     * One warning for a password map others may read (docker-mailserver writes it 0644), naming the
     * fix that works here: {@code chmod 600} when the relay owns the file; when another user owns it
     * (docker-mailserver's root, the relay as uid 999), {@code chmod 600} would lock the relay out, so
     * the fix is its group. A file every user may write is refused when the configuration loads.
     */
    static void warnIfSecretsReadable(Path file) {
        secretsWarning(file).ifPresent(w -> log.warn("config: {}", w));
    }

    static Optional<String> secretsWarning(Path file) {
        try {
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            if (!p.contains(PosixFilePermission.OTHERS_READ)) {
                return Optional.empty();   // owner and group only: as intended
            }
            int fileUid = (Integer) Files.getAttribute(file, "unix:uid");
            int fileGid = (Integer) Files.getAttribute(file, "unix:gid");
            int myUid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            int myGid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
            String mode = PosixFilePermissions.toString(p);
            if (fileUid == myUid) {
                return Optional.of(file + " holds passwords and every user can read it (" + mode + "): chmod 600 " + file);
            }
            return Optional.of(file + " holds passwords and every user can read it (" + mode + "); it belongs to uid "
                    + fileUid + " and this relay runs as uid " + myUid + ", so chmod 600 would lock the relay out: "
                    + (fileGid == myGid ? "chmod 640 " + file : "chgrp " + myGid + " " + file + " && chmod 640 " + file));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return Optional.empty();   // cannot tell: no warning
        }
    }

    public int port() {
        return listener.port();
    }

    public RelayEngine engine() {
        return engine;
    }

    public RelayConfig config() {
        return config.get();
    }

    public ConfigWatcher configWatcher() {
        return watcher;
    }

    public ServerSettings settings() {
        return settings;
    }

    /** Stops accepting, finishes running deliveries briefly; queued mail stays in the spool. */
    @Override
    public void close() {
        try {
            if (watcher != null) {
                watcher.close();
            }
            if (admin != null) {
                admin.close();
            }
            extraListeners.forEach(RelayListener::close);
            listener.close();
            shared.close();
        } finally {
            engine.close();
            if (ownership != null) {
                // After the engine: adopted spools stopped, the leases given up (a clean stop hands over at once).
                ownership.close();
            }
        }
    }
}
