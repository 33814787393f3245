package org.relaymta.core.internal.delivery;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;

/**
 * One client connection to an SMTP server, without a thread of its own: commands are written and
 * each reply completes a future on the channel's event loop, in order (a FIFO of pending replies,
 * so pipelining fits in). Every wait has the Postfix timeout of its stage; a failure completes the
 * future with an {@link SmtpSessionException} worded as Postfix words it, and closes the channel.
 * The session logic ({@link SessionOpener}, {@link MailTransaction}) chains on these futures.
 *
 * <p>Over 400 lines: the reply FIFO, the STARTTLS switch, the content transfer timers and the
 * wording of every failure act on the same channel and pending-reply state; splitting them would
 * spread that state across classes.
 */
final class SmtpConnection {
    private static final String SSL_HANDLER = "ssl";

    private final Channel channel;
    private final ReplyHandler handler;
    private final String peer;

    private SmtpConnection(Channel channel, ReplyHandler handler, String peer) {
        this.channel = channel;
        this.handler = handler;
        this.peer = peer;
    }

    /**
     * Connects; with {@code implicitTls} set, TLS is negotiated before the greeting (wrapper mode).
     * Completes once the connection is ready for {@link #greeting}, or fails with kind CONNECT or TLS.
     */
    static CompletableFuture<SmtpConnection> connect(EventLoopGroup group, InetSocketAddress address, String peerName,
                                                     Duration timeout, SslContext implicitTls, String tlsHostName) {
        String peer = peerName + "[" + address.getAddress().getHostAddress() + "]:" + address.getPort();
        ReplyHandler handler = new ReplyHandler();
        // Register the greeting's pending slot before any byte can arrive.
        handler.expect(null, null, 0);
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (implicitTls != null) {
                            ch.pipeline().addLast(SSL_HANDLER, implicitTls.newHandler(ch.alloc(), tlsHostName, address.getPort()));
                        }
                        install(ch, handler);
                    }
                });
        CompletableFuture<SmtpConnection> result = new CompletableFuture<>();
        b.connect(address).addListener((ChannelFuture cf) -> {
            if (!cf.isSuccess()) {
                cf.channel().close();
                String why = cf.cause() == null ? "Connection timed out" : describe(cf.cause());
                result.completeExceptionally(new SmtpSessionException(SmtpSessionException.Kind.CONNECT,
                        "connect to " + peer + ": " + why, cf.cause()));
                return;
            }
            SmtpConnection c = new SmtpConnection(cf.channel(), handler, peer);
            if (implicitTls == null) {
                result.complete(c);
                return;
            }
            SslHandler ssl = (SslHandler) cf.channel().pipeline().get(SSL_HANDLER);
            c.within(toCompletable(ssl.handshakeFuture()), timeout, "TLS handshake").whenComplete((v, e) -> {
                if (e == null) {
                    result.complete(c);
                } else {
                    result.completeExceptionally(unwrap(e));
                }
            });
        });
        return result;
    }

    /** A connection on a channel that is already open (tests drive one on an {@code EmbeddedChannel}). */
    static SmtpConnection on(Channel channel, String peer) {
        ReplyHandler handler = new ReplyHandler();
        handler.expect(null, null, 0);
        install(channel, handler);
        return new SmtpConnection(channel, handler, peer);
    }

    private static void install(Channel ch, ReplyHandler handler) {
        ch.pipeline().addLast("replies", handler.decoder);
        ch.pipeline().addLast("chunks", new ChunkedWriteHandler());
        ch.pipeline().addLast("session", handler);
    }

    EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /** The server greeting, within {@code timeout}. */
    CompletableFuture<SmtpReply> greeting(Duration timeout) {
        return within(handler.greeting(), timeout, "initial server greeting");
    }

    /** Sends one command line; its reply within {@code timeout}. {@code logAs} replaces the line in errors (AUTH secrets). */
    CompletableFuture<SmtpReply> command(String line, Duration timeout, String logAs) {
        CompletableFuture<SmtpReply> reply = handler.expect(null, null, 0);
        channel.writeAndFlush(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.UTF_8));
        return within(reply, timeout, logAs == null ? line : logAs);
    }

    CompletableFuture<SmtpReply> command(String line, Duration timeout) {
        return command(line, timeout, null);
    }

    /**
     * Sends several commands in one write (RFC 2920 PIPELINING) and returns their raw reply futures
     * in order; wait for each with {@link #within}, timing each from when the previous one arrived.
     */
    List<CompletableFuture<SmtpReply>> pipeline(List<String> lines) {
        List<CompletableFuture<SmtpReply>> replies = new ArrayList<>(lines.size());
        StringBuilder batch = new StringBuilder();
        for (String line : lines) {
            replies.add(handler.expect(null, null, 0));
            batch.append(line).append("\r\n");
        }
        channel.writeAndFlush(Unpooled.copiedBuffer(batch, StandardCharsets.UTF_8));
        return replies;
    }

    /**
     * Sends STARTTLS. On 220, the TLS handler is installed on the event loop before any further read,
     * and bytes that arrived after the 220 abort the session (response injection). Completes with the
     * reply; when it is 220, the handshake has completed.
     */
    CompletableFuture<SmtpReply> startTls(SslContext context, String hostName, int port, Duration timeout) {
        CompletableFuture<SmtpReply> reply = handler.expect(context, hostName, port);
        channel.writeAndFlush(Unpooled.copiedBuffer("STARTTLS\r\n", StandardCharsets.US_ASCII));
        return within(reply, timeout, "STARTTLS");
    }

    /**
     * Streams the content after a 354 (dot-stuffed, lines folded at {@code lineLimit}, terminated)
     * and completes with the final reply. Postfix's timers: the transfer fails when it makes no
     * progress for {@code transferTimeout} ({@code smtp_data_xfer_timeout}, between writes, however
     * long the whole takes), and the final reply must come within {@code doneTimeout}
     * ({@code smtp_data_done_timeout}) after the last byte.
     */
    CompletableFuture<SmtpReply> sendContent(InputStream content, int lineLimit, Duration transferTimeout,
                                             Duration doneTimeout) {
        DotStuffedContent chunks = new DotStuffedContent(content, lineLimit, channel.pipeline().get(SSL_HANDLER) != null);
        CompletableFuture<SmtpReply> reply = handler.expect(null, null, 0);
        CompletableFuture<SmtpReply> result = new CompletableFuture<>();
        ChannelFuture written = channel.writeAndFlush(chunks);
        long[] lastProgress = {-1};
        ScheduledFuture<?> watchdog = channel.eventLoop().scheduleAtFixedRate(() -> {
            long now = chunks.progress();
            if (!written.isDone() && now == lastProgress[0]) {
                fail(result, new SmtpSessionException(SmtpSessionException.Kind.TIMEOUT,
                        "conversation with " + peer + " timed out while " + waitingFor("message content"), null));
            }
            lastProgress[0] = now;
        }, transferTimeout.toMillis(), transferTimeout.toMillis(), TimeUnit.MILLISECONDS);
        written.addListener(f -> {
            watchdog.cancel(false);
            if (!f.isSuccess()) {
                fail(result, session(f.cause(), "message content"));
                return;
            }
            within(reply, doneTimeout, "end of DATA").whenComplete((r, e) -> {
                if (e != null) {
                    result.completeExceptionally(unwrap(e));
                } else {
                    result.complete(r);
                }
            });
        });
        return result;
    }

    /**
     * {@code future} bounded by {@code timeout}: completes as it does, or fails with an {@link
     * SmtpSessionException} (the connection closed) on timeout, loss or protocol error while
     * waiting for {@code what}.
     */
    <T> CompletableFuture<T> within(CompletableFuture<T> future, Duration timeout, String what) {
        CompletableFuture<T> result = new CompletableFuture<>();
        ScheduledFuture<?> timer = future.isDone() ? null
                : channel.eventLoop().schedule(() -> fail(result, new SmtpSessionException(SmtpSessionException.Kind.TIMEOUT,
                        "conversation with " + peer + " timed out while " + waitingFor(what), null)),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        future.whenComplete((v, e) -> {
            if (timer != null) {
                timer.cancel(false);
            }
            if (e == null) {
                result.complete(v);
            } else {
                fail(result, session(unwrap(e), what));
            }
        });
        return result;
    }

    private void fail(CompletableFuture<?> future, SmtpSessionException e) {
        if (future.completeExceptionally(e)) {
            channel.close();
        }
    }

    /** The relay's own address of this connection, as text ({@code sending-mta-ip} of the TLS reports). */
    String localAddress() {
        return channel.localAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "";
    }

    /** The TLS session once the handshake is done, else null. */
    SSLSession sslSession() {
        SslHandler ssl = (SslHandler) channel.pipeline().get(SSL_HANDLER);
        return ssl == null ? null : ssl.engine().getSession();
    }

    /** Protocol and cipher of the session when encrypted, else "". */
    String tls() {
        SslHandler ssl = (SslHandler) channel.pipeline().get(SSL_HANDLER);
        SSLSession session = ssl == null ? null : ssl.engine().getSession();
        return session == null ? "" : session.getProtocol() + " " + session.getCipherSuite();
    }

    boolean open() {
        return channel.isActive();
    }

    /**
     * Ends the session politely: QUIT, then close on its reply or after {@code timeout}
     * ({@code smtp_quit_timeout}, at most 2 s: the transaction's outcome is already known).
     */
    void quit(Duration timeout) {
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        Duration bound = timeout.compareTo(Duration.ofSeconds(2)) > 0 ? Duration.ofSeconds(2) : timeout;
        command("QUIT", bound).whenComplete((r, e) -> channel.close());
    }

    /** Sends QUIT and closes once it is written, without waiting for the reply: for idle cached sessions. */
    void quitNow() {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.copiedBuffer("QUIT\r\n", StandardCharsets.US_ASCII))
                    .addListener(f -> channel.close());
        } else {
            channel.close();
        }
    }

    void close() {
        channel.close();
    }

    /** Postfix's wording of a failure while waiting for {@code what}. */
    private SmtpSessionException session(Throwable cause, String what) {
        if (cause instanceof SmtpSessionException s) {
            return s;
        }
        if (cause instanceof ClosedChannelException || (cause != null && cause.getMessage() != null
                && cause.getMessage().contains("Connection reset"))) {
            return new SmtpSessionException(SmtpSessionException.Kind.LOST,
                    "lost connection with " + peer + " while " + waitingFor(what), cause);
        }
        return new SmtpSessionException(SmtpSessionException.Kind.PROTOCOL,
                "conversation with " + peer + " failed while " + waitingFor(what) + ": " + describe(cause), cause);
    }

    static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    private static String waitingFor(String what) {
        if (what.equals("initial server greeting") || what.equals("message content") || what.equals("TLS handshake")) {
            return "receiving the " + what;
        }
        if (what.equals("end of DATA")) {
            return "sending end of data -- message may be sent more than once";
        }
        return "receiving the reply to " + commandName(what) + " command";
    }

    private static String commandName(String line) {
        String upper = line.toUpperCase(Locale.ROOT);
        if (upper.startsWith("MAIL FROM")) {
            return "MAIL FROM";
        }
        if (upper.startsWith("RCPT TO")) {
            return "RCPT TO";
        }
        int sp = line.indexOf(' ');
        return sp < 0 ? line : line.substring(0, sp);
    }

    static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        if (m == null || m.isBlank()) {
            return root.getClass().getSimpleName();
        }
        // Netty prefixes connection errors with the address; keep only the reason.
        int colon = m.lastIndexOf(": ");
        if (m.startsWith("Connection refused") || (colon > 0 && m.substring(colon + 2).startsWith("Connection refused"))) {
            return "Connection refused";
        }
        if (m.contains("connection timed out") || m.contains("Connection timed out")) {
            return "Connection timed out";
        }
        return m;
    }

    private static <T> CompletableFuture<Void> toCompletable(Future<T> nettyFuture) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        nettyFuture.addListener(done -> {
            if (done.isSuccess()) {
                f.complete(null);
            } else {
                f.completeExceptionally(new SmtpSessionException(SmtpSessionException.Kind.TLS,
                        "TLS handshake failed: " + describe(done.cause()), done.cause()));
            }
        });
        return f;
    }

    /** Matches replies to waiting commands in order and performs the STARTTLS switch on the event loop. */
    private static final class ReplyHandler extends SimpleChannelInboundHandler<SmtpReply> {
        final SmtpReplyDecoder decoder = new SmtpReplyDecoder();
        private final Deque<Pending> pending = new ArrayDeque<>();
        private CompletableFuture<SmtpReply> greeting;
        private Throwable failure;

        private record Pending(CompletableFuture<SmtpReply> future, SslContext tls, String host, int port) {
        }

        synchronized CompletableFuture<SmtpReply> greeting() {
            return greeting;
        }

        synchronized CompletableFuture<SmtpReply> expect(SslContext tls, String host, int port) {
            CompletableFuture<SmtpReply> f = new CompletableFuture<>();
            if (greeting == null) {
                greeting = f;
            }
            if (failure != null) {
                f.completeExceptionally(failure);
            } else {
                pending.addLast(new Pending(f, tls, host, port));
            }
            return f;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, SmtpReply reply) {
            Pending p;
            synchronized (this) {
                p = pending.pollFirst();
            }
            if (p == null) {
                failAll(new SmtpSessionException(SmtpSessionException.Kind.PROTOCOL,
                        "unexpected reply from server: " + reply.oneLine(), null));
                ctx.close();
                return;
            }
            if (p.tls() != null && reply.code() == 220) {
                if (decoder.hasBufferedBytes()) {
                    p.future().completeExceptionally(new SmtpSessionException(SmtpSessionException.Kind.TLS,
                            "server sent data after its 220 reply to STARTTLS (possible response injection)", null));
                    ctx.close();
                    return;
                }
                SslHandler ssl = p.tls().newHandler(ctx.alloc(), p.host(), p.port());
                ctx.pipeline().addFirst(SSL_HANDLER, ssl);
                ssl.handshakeFuture().addListener(done -> {
                    if (done.isSuccess()) {
                        p.future().complete(reply);
                    } else {
                        p.future().completeExceptionally(new SmtpSessionException(SmtpSessionException.Kind.TLS,
                                "TLS handshake failed: " + describe(done.cause()), done.cause()));
                        ctx.close();
                    }
                });
                return;
            }
            p.future().complete(reply);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failAll(new ClosedChannelException());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failAll(cause);
            ctx.close();
        }

        private void failAll(Throwable cause) {
            Deque<Pending> toFail;
            synchronized (this) {
                if (failure == null) {
                    failure = cause;
                }
                toFail = new ArrayDeque<>(pending);
                pending.clear();
            }
            for (Pending p : toFail) {
                p.future().completeExceptionally(cause);
            }
        }
    }
}
