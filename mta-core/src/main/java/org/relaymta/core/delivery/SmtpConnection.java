package org.relaymta.core.delivery;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLSession;

/**
 * One client connection to an SMTP server, driven by a delivery worker thread. The Netty pipeline
 * does the I/O; each command's reply arrives in order (a FIFO of pending replies, so pipelining
 * fits in), and the worker waits for it with the Postfix timeout of that stage.
 */
final class SmtpConnection implements AutoCloseable {
    private static final String SSL_HANDLER = "ssl";

    private final Channel channel;
    private final SmtpReplyDecoder decoder;
    private final ReplyHandler handler;
    private final String peer;

    private SmtpConnection(Channel channel, SmtpReplyDecoder decoder, ReplyHandler handler, String peer) {
        this.channel = channel;
        this.decoder = decoder;
        this.handler = handler;
        this.peer = peer;
    }

    /**
     * Connects; with {@code implicitTls} set, TLS is negotiated before the greeting (wrapper mode).
     * The greeting is then read with {@link #awaitReply(Duration, String)}.
     */
    static SmtpConnection connect(EventLoopGroup group, InetSocketAddress address, String peerName, Duration timeout,
                                  SslContext implicitTls, String tlsHostName) throws SmtpSessionException {
        SmtpReplyDecoder decoder = new SmtpReplyDecoder();
        ReplyHandler handler = new ReplyHandler(decoder);
        String peer = peerName + "[" + address.getAddress().getHostAddress() + "]:" + address.getPort();
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (implicitTls != null) {
                            SslHandler ssl = implicitTls.newHandler(ch.alloc(), tlsHostName, address.getPort());
                            ch.pipeline().addLast(SSL_HANDLER, ssl);
                        }
                        ch.pipeline().addLast("replies", decoder);
                        ch.pipeline().addLast("chunks", new ChunkedWriteHandler());
                        ch.pipeline().addLast("session", handler);
                    }
                });
        // Register the greeting's pending slot before any byte can arrive.
        CompletableFuture<SmtpReply> greeting = handler.expect(false, null, null, 0);
        ChannelFuture cf = b.connect(address);
        try {
            cf.await(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cf.channel().close();
            throw new SmtpSessionException(SmtpSessionException.Kind.CONNECT, "connect to " + peer + ": interrupted", e);
        }
        if (!cf.isSuccess()) {
            cf.channel().close();
            Throwable cause = cf.cause();
            String why = cause == null ? "Connection timed out" : describe(cause);
            throw new SmtpSessionException(SmtpSessionException.Kind.CONNECT, "connect to " + peer + ": " + why, cause);
        }
        SmtpConnection c = new SmtpConnection(cf.channel(), decoder, handler, peer);
        c.handler.greeting = greeting;
        if (implicitTls != null) {
            SslHandler ssl = (SslHandler) cf.channel().pipeline().get(SSL_HANDLER);
            c.await(toCompletable(ssl.handshakeFuture()), timeout, "TLS handshake");
        }
        return c;
    }

    /** Waits for the server greeting. */
    SmtpReply awaitGreeting(Duration timeout) throws SmtpSessionException {
        return await(handler.greeting, timeout, "initial server greeting");
    }

    /** Sends one command line and waits for its reply. {@code logAs} replaces the line in errors (AUTH secrets). */
    SmtpReply command(String line, Duration timeout, String logAs) throws SmtpSessionException {
        CompletableFuture<SmtpReply> reply = handler.expect(false, null, null, 0);
        write(line);
        return await(reply, timeout, logAs == null ? line : logAs);
    }

    SmtpReply command(String line, Duration timeout) throws SmtpSessionException {
        return command(line, timeout, null);
    }

    /**
     * Sends several commands in one write (RFC 2920 PIPELINING) and returns their reply futures in
     * order; wait for each with {@link #await(CompletableFuture, Duration, String)}.
     */
    java.util.List<CompletableFuture<SmtpReply>> pipeline(java.util.List<String> lines) {
        java.util.List<CompletableFuture<SmtpReply>> replies = new java.util.ArrayList<>(lines.size());
        StringBuilder batch = new StringBuilder();
        for (String line : lines) {
            replies.add(handler.expect(false, null, null, 0));
            batch.append(line).append("\r\n");
        }
        channel.writeAndFlush(Unpooled.copiedBuffer(batch, StandardCharsets.UTF_8));
        return replies;
    }

    /** Waits for one reply of a pipelined batch. */
    SmtpReply awaitReply(CompletableFuture<SmtpReply> reply, Duration timeout, String command) throws SmtpSessionException {
        return await(reply, timeout, command);
    }

    /** Sends QUIT and closes once it is written, without waiting: for idle cached connections. */
    void quitAsync() {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.copiedBuffer("QUIT\r\n", StandardCharsets.US_ASCII))
                    .addListener(f -> channel.close());
        } else {
            channel.close();
        }
    }

    private void write(String line) {
        ByteBuf buf = Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.UTF_8);
        channel.writeAndFlush(buf);
    }

    /**
     * Sends STARTTLS. On 220, the TLS handler is installed on the event loop before any further read,
     * and bytes that arrived after the 220 abort the session (response injection). Returns the reply;
     * when it is 220, the handshake has completed.
     */
    SmtpReply startTls(SslContext context, String hostName, int port, Duration timeout) throws SmtpSessionException {
        CompletableFuture<SmtpReply> reply = handler.expect(true, context, hostName, port);
        write("STARTTLS");
        return await(reply, timeout, "STARTTLS");
    }

    /**
     * Streams the content (dot-stuffed, lines broken at {@code lineLimit}, terminated) after a 354
     * and waits for the final reply; the transfer's own timers bound the wait (see {@link #startContent}).
     */
    SmtpReply sendContent(InputStream content, int lineLimit, Duration transferTimeout, Duration doneTimeout)
            throws SmtpSessionException {
        Transfer transfer = startContent(content, lineLimit, transferTimeout, doneTimeout);
        try {
            return transfer.reply().get();
        } catch (InterruptedException | ExecutionException e) {
            return await(transfer.reply(), Duration.ZERO, transfer.written().isDone() ? "end of DATA" : "message content");
        }
    }

    /** As {@link #sendContent} without waiting: the future completes with the final reply, or exceptionally. */
    CompletableFuture<SmtpReply> sendContentAsync(InputStream content, int lineLimit, Duration transferTimeout,
                                                  Duration doneTimeout) {
        return startContent(content, lineLimit, transferTimeout, doneTimeout).reply();
    }

    /** The content being written, and the final reply that follows a successful write. */
    private record Transfer(ChannelFuture written, CompletableFuture<SmtpReply> reply) {
    }

    /**
     * Postfix's timers: the transfer fails when it makes no progress for {@code transferTimeout}
     * ({@code smtp_data_xfer_timeout}, between writes, however long the whole takes), and the final
     * reply must come within {@code doneTimeout} ({@code smtp_data_done_timeout}) after the last byte.
     */
    private Transfer startContent(InputStream content, int lineLimit, Duration transferTimeout, Duration doneTimeout) {
        DotStuffedContent chunks = new DotStuffedContent(content, lineLimit);
        CompletableFuture<SmtpReply> reply = handler.expect(false, null, null, 0);
        CompletableFuture<SmtpReply> result = new CompletableFuture<>();
        ChannelFuture written = channel.writeAndFlush(chunks);
        long[] lastProgress = {-1};
        io.netty.util.concurrent.ScheduledFuture<?> watchdog = channel.eventLoop().scheduleAtFixedRate(() -> {
            long now = chunks.progress();
            if (!written.isDone() && now == lastProgress[0]
                    && result.completeExceptionally(new TimeoutException("conversation with " + peer + " timed out"))) {
                channel.close();
            }
            lastProgress[0] = now;
        }, transferTimeout.toMillis(), transferTimeout.toMillis(), TimeUnit.MILLISECONDS);
        written.addListener(f -> {
            watchdog.cancel(false);
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
            }
            within(reply, doneTimeout).whenComplete((r, e) -> {
                if (e != null) {
                    result.completeExceptionally(e);
                } else {
                    result.complete(r);
                }
            });
        });
        return new Transfer(written, result);
    }

    /** {@code future}, failed with a TimeoutException (and the connection closed) if not done within {@code timeout}. */
    <T> CompletableFuture<T> within(CompletableFuture<T> future, Duration timeout) {
        if (future.isDone()) {
            return future;
        }
        io.netty.util.concurrent.ScheduledFuture<?> timer = channel.eventLoop().schedule(() -> {
            if (future.completeExceptionally(new TimeoutException("conversation with " + peer + " timed out"))) {
                channel.close();
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        future.whenComplete((v, e) -> timer.cancel(false));
        return future;
    }

    SSLSession tlsSession() {
        SslHandler ssl = (SslHandler) channel.pipeline().get(SSL_HANDLER);
        return ssl == null ? null : ssl.engine().getSession();
    }

    boolean open() {
        return channel.isActive();
    }

    /** Sends QUIT and closes without waiting long: the transaction outcome is already known. */
    void quit(Duration timeout) {
        if (channel.isActive()) {
            try {
                command("QUIT", timeout.compareTo(Duration.ofSeconds(2)) > 0 ? Duration.ofSeconds(2) : timeout);
            } catch (SmtpSessionException ignored) {
                // the server may close first; nothing depends on the QUIT reply
            }
        }
        close();
    }

    @Override
    public void close() {
        channel.close();
    }

    private <T> T await(CompletableFuture<T> future, Duration timeout, String what) throws SmtpSessionException {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            channel.close();
            throw new SmtpSessionException(SmtpSessionException.Kind.TIMEOUT,
                    "conversation with " + peer + " timed out while " + waitingFor(what), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            channel.close();
            throw new SmtpSessionException(SmtpSessionException.Kind.LOST, "interrupted while " + waitingFor(what), e);
        } catch (ExecutionException e) {
            channel.close();
            Throwable cause = e.getCause();
            if (cause instanceof SmtpSessionException s) {
                throw s;
            }
            if (cause instanceof TimeoutException) {
                throw new SmtpSessionException(SmtpSessionException.Kind.TIMEOUT,
                        "conversation with " + peer + " timed out while " + waitingFor(what), cause);
            }
            if (cause instanceof ClosedChannelException || (cause != null && cause.getMessage() != null
                    && cause.getMessage().contains("Connection reset"))) {
                throw new SmtpSessionException(SmtpSessionException.Kind.LOST,
                        "lost connection with " + peer + " while " + waitingFor(what), cause);
            }
            throw new SmtpSessionException(SmtpSessionException.Kind.PROTOCOL,
                    "conversation with " + peer + " failed while " + waitingFor(what) + ": " + describe(cause), cause);
        }
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
        String upper = line.toUpperCase();
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

    private static <T> CompletableFuture<Void> toCompletable(io.netty.util.concurrent.Future<T> nettyFuture) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        nettyFuture.addListener(done -> {
            if (done.isSuccess()) {
                f.complete(null);
            } else {
                f.completeExceptionally(done.cause());
            }
        });
        return f;
    }

    /** Matches replies to waiting commands in order and performs the STARTTLS switch on the event loop. */
    private static final class ReplyHandler extends SimpleChannelInboundHandler<SmtpReply> {
        private final SmtpReplyDecoder decoder;
        private final Deque<Pending> pending = new ArrayDeque<>();
        volatile CompletableFuture<SmtpReply> greeting;
        private Throwable failure;

        ReplyHandler(SmtpReplyDecoder decoder) {
            this.decoder = decoder;
        }

        private record Pending(CompletableFuture<SmtpReply> future, boolean startTls, SslContext tls, String host, int port) {
        }

        synchronized CompletableFuture<SmtpReply> expect(boolean startTls, SslContext tls, String host, int port) {
            CompletableFuture<SmtpReply> f = new CompletableFuture<>();
            if (failure != null) {
                f.completeExceptionally(failure);
            } else {
                pending.addLast(new Pending(f, startTls, tls, host, port));
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
            if (p.startTls() && reply.code() == 220) {
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
