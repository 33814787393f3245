package org.relaymta.spring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.relaymta.core.RelayEngine;
import org.relaymta.server.smtp.RelayListener;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the optional SMTP listener with the context and stops the relay with it: after the web
 * server (so requests still being served can queue mail), running deliveries get
 * {@code relaymta.shutdown-timeout}, cached upstream sessions get QUIT, queued mail stays spooled.
 */
public class RelayMtaLifecycle implements SmartLifecycle {
    /** Below the web server's phases: stopped after it, started before it. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private final RelayEngine engine;
    private final RelayMtaProperties properties;
    private volatile boolean running;
    private AutoCloseable listener;

    public RelayMtaLifecycle(RelayEngine engine, RelayMtaProperties properties) {
        this.engine = engine;
        this.properties = properties;
    }

    @Override
    public void start() {
        if (properties.getListener().isEnabled()) {
            listener = startListener();
        }
        running = true;
    }

    private AutoCloseable startListener() {
        if (!ListenerStarter.available()) {
            throw new IllegalStateException("relaymta.listener.enabled=true needs org.relaymta:mta-server on the classpath");
        }
        try {
            return ListenerStarter.start(engine, address(properties.getListener().getAddress()),
                    properties.getSpoolDir().toAbsolutePath().resolveSibling(properties.getSpoolDir().getFileName() + "-tls"));
        } catch (IOException e) {
            throw new UncheckedIOException("relaymta.listener.address " + properties.getListener().getAddress() + ": "
                    + e.getMessage(), e);
        }
    }

    static InetSocketAddress address(String hostPort) {
        int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("relaymta.listener.address '" + hostPort + "' is not HOST:PORT");
        }
        String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
        try {
            return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("relaymta.listener.address '" + hostPort + "' is not HOST:PORT", e);
        }
    }

    @Override
    public void stop() {
        if (listener != null) {
            try {
                listener.close();
            } catch (Exception ignored) {
                // a listener that fails to close holds no mail
            }
            listener = null;
        }
        engine.close(properties.getShutdownTimeout());
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** The listener, in its own class so that mta-server is loaded only when it is wanted. */
    static final class ListenerStarter {
        static boolean available() {
            try {
                Class.forName("org.relaymta.server.smtp.RelayListener", false, RelayMtaLifecycle.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException e) {
                return false;
            }
        }

        static AutoCloseable start(RelayEngine engine, InetSocketAddress address, Path tlsDir) throws IOException {
            RelayListener.Shared shared = RelayListener.Shared.forEngine(engine, tlsDir);
            RelayListener listener = new RelayListener(shared, address,
                    RelayListener.Mode.RELAY);
            listener.start();
            return () -> {
                listener.close();
                shared.close();
            };
        }
    }
}
