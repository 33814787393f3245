package org.relaymta.server;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;
import org.relaymta.config.ConfigLoader;
import org.relaymta.config.ConfigWatcher;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.queue.DeliveryListener;
import org.relaymta.server.admin.AdminServer;
import org.relaymta.server.smtp.RelayListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The relay process: configuration, engine and SMTP listener, started and stopped together. */
public final class RelayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

    private final ServerSettings settings;
    private final AtomicReference<RelayConfig> config = new AtomicReference<>();
    private final RelayEngine engine;
    private final RelayListener listener;
    private final ConfigWatcher watcher;
    private final AdminServer admin;

    private RelayServer(ServerSettings settings, RelayConfig initial, java.time.Clock clock, DeliveryListener... listeners)
            throws IOException {
        this.settings = settings;
        this.config.set(initial);
        RelayEngine.Builder b = RelayEngine.builder()
                .spoolDirectory(settings.spoolDir())
                .clock(clock)
                .config(config::get)
                .dnsServers(settings.dnsServers())
                .directDeliveryPort(settings.directPort());
        for (DeliveryListener l : listeners) {
            b.listener(l);
        }
        this.engine = b.build().start();
        try {
            this.listener = new RelayListener(engine, settings.listen());
            listener.start();
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        // Hot reload: new snapshots apply to the next delivery and the next SMTP session; nothing restarts.
        ConfigLoader loader = new ConfigLoader(settings.env(), settings.configDir());
        this.watcher = new ConfigWatcher(settings.configDir(), settings.env(), loader::load, config::get, config::set)
                .start(RELOAD_CHECK_INTERVAL);
        AdminServer adminServer = null;
        if (settings.adminListen() != null) {
            try {
                adminServer = new AdminServer(settings.adminListen(), engine.queue(), this::health, () -> "");
            } catch (IOException e) {
                close();
                throw new IOException("cannot listen for admin requests on " + settings.adminListen() + ": " + e.getMessage(), e);
            }
        }
        this.admin = adminServer;
    }

    /** Healthy when the listener runs and the spool can take mail. */
    public AdminServer.Health health() {
        boolean spoolOk = engine.healthy();
        boolean listening = listener.running();
        boolean ok = spoolOk && listening;
        return new AdminServer.Health(ok, "{\"status\": \"" + (ok ? "ok" : "unavailable") + "\", \"listener\": "
                + listening + ", \"spool_writable\": " + spoolOk + ", \"queue_size\": " + engine.queue().size() + "}\n");
    }

    /** The admin endpoint's port, or -1 when it is off. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    static final java.time.Duration RELOAD_CHECK_INTERVAL = java.time.Duration.ofMillis(500);

    /** Loads the configuration (failing with a clear {@code ConfigException}), then starts everything. */
    public static RelayServer start(ServerSettings settings, DeliveryListener... listeners) throws IOException {
        return start(settings, java.time.Clock.systemUTC(), listeners);
    }

    /** As {@link #start(ServerSettings, DeliveryListener...)} with the queue's clock given (tests move time). */
    public static RelayServer start(ServerSettings settings, java.time.Clock clock, DeliveryListener... listeners)
            throws IOException {
        RelayConfig cfg = new ConfigLoader(settings.env(), settings.configDir()).load();
        for (String warning : cfg.warnings()) {
            log.warn("config: {}", warning);
        }
        return new RelayServer(settings, cfg, clock, listeners);
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
            listener.close();
        } finally {
            engine.close();
        }
    }
}
