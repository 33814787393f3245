package org.relaymta.server.smtp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.server.tls.ServerTls;

/**
 * An inbound SMTP listener in front of the relay engine: a Netty server whose event loops serve
 * every session, so no thread waits on an idle client. The only blocking steps (the spool's fsync
 * before {@code 250}, password hashing) run on a small worker pool.
 */
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

    /** Parts shared by all listeners of one relay: event loops, worker pool, limits, accounts. */
    public static final class Shared implements AutoCloseable {
        final SmtpReceiver receiver;
        final Supplier<RelayConfig> config;
        final SSLContext tls;
        final SessionLimiter limiter;
        final Map<String, Verb> verbs;
        final EventLoopGroup loops;
        /** Spool commits (fsync) and password checks: blocking work kept off the event loops. */
        final ExecutorService workers;

        /** Listeners over a running engine, reading the engine's configuration as it is reloaded. */
        public Shared(RelayEngine engine, SSLContext tls) {
            this(SmtpReceiver.of(engine), EngineAccess.internals(engine)::config, tls, EngineAccess.internals(engine).eventLoops(),
                    engine.clock());
        }

        /** Listeners in front of any receiver (tests drive sessions on an {@code EmbeddedChannel}). */
        Shared(SmtpReceiver receiver, Supplier<RelayConfig> config, SSLContext tls, EventLoopGroup loops,
               Clock clock) {
            this.receiver = receiver;
            this.config = config;
            this.tls = tls;
            this.limiter = new SessionLimiter(config, clock);
            this.verbs = Verbs.standard(new AccountAuthenticator(config, receiver, clock), receiver);
            // The engine's event loops serve inbound sessions too: fewer threads, more work per wake-up.
            this.loops = loops;
            AtomicInteger n = new AtomicInteger();
            this.workers = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "mta-smtpd-worker-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }

        /** A relay listener for an embedding application: self-signed TLS kept in {@code tlsDir}. */
        public static Shared forEngine(RelayEngine engine, Path tlsDir) throws IOException {
            return new Shared(engine, ServerTls.selfSigned(tlsDir, EngineAccess.internals(engine).config().myhostname()));
        }

        @Override
        public void close() {
            workers.shutdown();
        }
    }

    private final Shared shared;
    private final InetSocketAddress listen;
    private final Mode mode;
    private volatile Channel serverChannel;

    public RelayListener(Shared shared, InetSocketAddress listen, Mode mode) {
        this.shared = shared;
        this.listen = listen;
        this.mode = mode;
    }

    /** Binds the listen address; a failure (address in use, no permission) is thrown as it is. */
    public void start() throws IOException {
        ServerBootstrap b = new ServerBootstrap()
                .group(shared.loops)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 512)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        RelayConfig config = shared.config.get();
                        if (mode == Mode.SMTPS) {
                            ch.pipeline().addLast("tls", new SslHandler(ServerTls.serverEngine(shared.tls)));
                        }
                        // Ticks at the shorter (stress) timeout; the session decides which one applies now.
                        long tick = Math.max(1, Math.min(config.listener().timeout(true).toMillis(),
                                config.listener().timeout(false).toMillis()));
                        ch.pipeline().addLast("idle", new IdleStateHandler(tick, 0, 0, TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("smtp", new SmtpSession(shared, mode, config, mode == Mode.SMTPS));
                    }
                });
        try {
            serverChannel = b.bind(listen).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding " + listen, e);
        } catch (Exception e) {
            // Netty rethrows the bind failure (a checked BindException) from sync().
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getMessage(), e);
        }
    }

    public boolean running() {
        Channel c = serverChannel;
        return c != null && c.isActive();
    }

    public int port() {
        Channel c = serverChannel;
        return c == null ? -1 : ((InetSocketAddress) c.localAddress()).getPort();
    }

    public Mode mode() {
        return mode;
    }

    /** Stops accepting; sessions in progress end with the shared event loops. */
    @Override
    public void close() {
        Channel c = serverChannel;
        if (c != null) {
            c.close().syncUninterruptibly();
        }
    }
}
