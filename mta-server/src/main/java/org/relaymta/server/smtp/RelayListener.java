package org.relaymta.server.smtp;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.RelayEngine;
import org.relaymta.server.tls.ServerTls;
import org.subethamail.smtp.server.SMTPServer;

/** An inbound SMTP listener (SubEthaSMTP) in front of the relay engine. */
public final class RelayListener implements AutoCloseable {

    /** What the listener requires of clients. */
    public enum Mode {
        /** Port 25 style: relays for mynetworks; STARTTLS and AUTH offered. */
        RELAY,
        /** Submission (port 587 style): STARTTLS and AUTH required before MAIL. */
        SUBMISSION,
        /** Implicit TLS (port 465 style): TLS from the first byte, AUTH required. */
        SMTPS
    }

    /** Parts shared by all listeners of one relay. */
    public static final class Shared implements AutoCloseable {
        final RelayEngine engine;
        final Supplier<RelayConfig> config;
        final SSLContext tls;
        final AccountAuthenticator authenticator;
        final SessionLimiter limiter;
        /** Watchdogs for the DATA deadline of the sessions of these listeners. */
        final java.util.concurrent.ScheduledExecutorService deadlines =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "mta-smtp-deadlines");
                    t.setDaemon(true);
                    return t;
                });

        public Shared(RelayEngine engine, Supplier<RelayConfig> config, SSLContext tls) {
            this.engine = engine;
            this.config = config;
            this.tls = tls;
            this.authenticator = new AccountAuthenticator(config, engine.metrics(), tls != null);
            this.limiter = new SessionLimiter(config, engine.metrics());
        }

        /** A relay listener for an embedding application: self-signed TLS kept in {@code tlsDir}. */
        public static Shared forEngine(RelayEngine engine, java.nio.file.Path tlsDir) throws java.io.IOException {
            return new Shared(engine, engine::config, ServerTls.selfSigned(tlsDir, engine.config().myhostname()));
        }

        @Override
        public void close() {
            deadlines.shutdownNow();
        }
    }

    private final SMTPServer server;
    private final Mode mode;

    public RelayListener(Shared shared, InetSocketAddress listen, Mode mode) {
        this.mode = mode;
        RelayConfig config = shared.config.get();
        long limit = config.messageSizeLimit();
        SMTPServer.Builder b = SMTPServer.port(listen.getPort())
                .bindAddress(listen.getAddress())
                .hostName(config.myhostname())
                .softwareName("Relay MTA")
                .messageHandlerFactory(ctx -> new RelayMessageHandler(shared.engine, ctx, mode != Mode.RELAY,
                        shared.deadlines, shared.limiter))
                // SubEthaSMTP only advertises this and checks MAIL FROM SIZE=; DATA is counted in the handler.
                .maxMessageSize(limit <= 0 || limit > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) limit)
                // Our handler writes the Received: header (with the queue id, without a reverse DNS lookup per message).
                .insertReceivedHeaders(false)
                .connectionTimeout((int) Math.max(1, config.listener().timeout().toMillis()), TimeUnit.MILLISECONDS)
                .sessionHandler(shared.limiter)
                // Like Postfix smtpd_tls_auth_only: no password over a plaintext session.
                .showAuthCapabilitiesBeforeSTARTTLS(false)
                // Our handler answers the limit with 452 4.5.3; SubEthaSMTP's own check must not fire first.
                .maxRecipients(config.listener().recipientLimit() + 1)
                .authenticationHandlerFactory(shared.authenticator)
                .serverThreadName("mta-smtp-" + mode.name().toLowerCase());
        if (shared.tls != null) {
            if (mode == Mode.SMTPS) {
                b.serverSocketFactory(ServerTls.implicitTls(shared.tls));
            } else {
                b.startTlsSocketFactory(ServerTls.startTls(shared.tls)).enableTLS();
            }
        }
        if (mode == Mode.SUBMISSION) {
            b.requireTLS().requireAuth();
        } else if (mode == Mode.SMTPS) {
            b.requireAuth();
        }
        this.server = b.build();
    }

    public void start() {
        server.start();
    }

    public boolean running() {
        return server.isRunning();
    }

    public int port() {
        return server.getPortAllocated();
    }

    public Mode mode() {
        return mode;
    }

    @Override
    public void close() {
        server.stop();
    }
}
