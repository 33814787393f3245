package org.relaymta.server.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.queue.QueueActions;
import org.relaymta.core.internal.suppress.NoSuppressions;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.queue.SuppressionList;

/**
 * The admin endpoint (loopback by default): queue listing and control for {@code mta queue},
 * health, and metrics, served by Netty on the engine's event loops. Request headers are read there
 * without a thread waiting on any client, so clients that stall (one byte a minute, or nothing)
 * cost a socket each and never a worker: {@code /health} keeps answering within milliseconds
 * however many of them there are. A request head must arrive within {@link #REQUEST_DEADLINE};
 * what a request does runs on small worker pools ({@code /health} and {@code /metrics} on their own,
 * so queue listings cannot hold them up). Who may call what is {@link AdminAccess}'s decision, which
 * path and method means what {@link AdminRequests}'.
 */
public final class AdminServer implements AutoCloseable {
    /** How long a client has to send its request line and headers. */
    static final Duration REQUEST_DEADLINE = Duration.ofSeconds(10);
    /** Open admin connections at once; past this, new ones are closed at once (file descriptors are finite). */
    static final int MAX_CONNECTIONS = 512;
    /** Request line and headers, as a handful of short headers needs; more is refused with 414 or 431. */
    static final int MAX_LINE = 4096;
    static final int MAX_HEADERS = 8192;

    private final Channel channel;
    private final ExecutorService probes;
    private final ExecutorService queueWork;

    /** Spool takeover as the admin endpoint shows and drives it ({@code GET /cluster}, {@code POST /cluster/handback}). */
    public interface ClusterView {
        /** This node, its spool and generation, what it adopted, and every lease, as JSON. */
        String status();

        /** The node running {@code spool} hands it back to its returning owner at once. */
        void handBack(String spool) throws Exception;
    }

    /** Health for {@code /health}: the body is a short JSON object. */
    public record Health(boolean ok, String json) {
    }

    public AdminServer(InetSocketAddress listen, EventLoopGroup loops, QueueActions queue, AdminAccess access,
                       Supplier<Health> health, Supplier<String> metrics) throws IOException {
        this(listen, loops, queue, access, health, metrics, domain -> CompletableFuture.failedFuture(
                new IllegalStateException("no TLS policy view")), null, NoSuppressions.INSTANCE, null, null);
    }

    /** {@code tlsPolicy}: the TLS policy of mail to a domain's MX, as JSON ({@code GET /tls-policy/DOMAIN}). */
    public AdminServer(InetSocketAddress listen, EventLoopGroup loops, QueueActions queue, AdminAccess access,
                       Supplier<Health> health, Supplier<String> metrics,
                       Function<String, CompletableFuture<String>> tlsPolicy, Supplier<RelayConfig> config,
                       SuppressionList suppressions, Shaper shaper, ClusterView cluster) throws IOException {
        this.probes = workers("mta-admin-probe", 2);
        this.queueWork = workers("mta-admin", 4);
        AdminRequests requests = new AdminRequests(queue, access, health, metrics, probes, queueWork, tlsPolicy, config,
                suppressions, shaper, cluster);
        AtomicInteger open = new AtomicInteger();
        ServerBootstrap b = new ServerBootstrap()
                .group(loops)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 128)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (open.incrementAndGet() > MAX_CONNECTIONS) {
                            open.decrementAndGet();
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        ch.pipeline().addLast("http", new HttpServerCodec(MAX_LINE, MAX_HEADERS, 8192));
                        ch.pipeline().addLast("admin", new AdminConnection(requests, REQUEST_DEADLINE));
                    }
                });
        try {
            this.channel = b.bind(listen).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(probes, queueWork);
            throw new IOException("interrupted while binding " + listen, e);
        } catch (Exception e) {
            close(probes, queueWork);
            // Netty rethrows the bind failure (a checked BindException) from sync().
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getMessage(), e);
        }
    }

    private static ExecutorService workers(String name, int n) {
        AtomicInteger count = new AtomicInteger();
        return Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        close(probes, queueWork);
    }

    private static void close(ExecutorService... pools) {
        for (ExecutorService p : pools) {
            p.shutdownNow();
        }
    }
}
