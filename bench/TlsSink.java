import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.relaymta.server.tls.ServerTls;

/**
 * A discarding SMTP sink for the TLS smarthost benchmark: offers STARTTLS and, once encrypted,
 * AUTH PLAIN/LOGIN, as SES, Mailgun or Microsoft 365 do; mail is accepted only after a successful
 * AUTH and thrown away. The certificate is a self-signed one made with BouncyCastle.
 *
 *   java -cp mta-server/target/mta-server-*-all.jar bench/TlsSink.java PORT USER PASSWORD
 *
 * With USER "-" it is a plain sink instead (no STARTTLS offered, no AUTH needed), to measure what
 * TLS and AUTH cost against the same sink.
 *
 * Every 100 ms it prints one status line when something changed:
 *   sess=S mesg=M tls=H resumed=R authfail=F
 * (sessions, messages accepted, TLS handshakes, of which abbreviated by session resumption, failed AUTHs).
 */
public final class TlsSink {
    static final AtomicLong sessions = new AtomicLong();
    static final AtomicLong messages = new AtomicLong();
    static final AtomicLong handshakes = new AtomicLong();
    static final AtomicLong resumed = new AtomicLong();
    static final AtomicLong authFailures = new AtomicLong();
    static final Set<String> seenSessions = ConcurrentHashMap.newKeySet();

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String user = args[1];
        String password = args[2];
        Path dir = Files.createTempDirectory("tls-sink");
        SSLContext tls = ServerTls.selfSigned(dir, "sink.bench.test");
        String plain = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        sessions.incrementAndGet();
                        ch.pipeline().addLast("lines", new LineBasedFrameDecoder(64 * 1024));
                        ch.pipeline().addLast("smtp", new Session(user.equals("-") ? null : tls, user, password, plain));
                    }
                }).bind(port).sync();
        String last = "";
        while (true) {
            String line = "sess=" + sessions.get() + " mesg=" + messages.get() + " tls=" + handshakes.get()
                    + " resumed=" + resumed.get() + " authfail=" + authFailures.get();
            if (!line.equals(last)) {
                System.out.println(line);
                System.out.flush();
                last = line;
            }
            Thread.sleep(100);
        }
    }

    /** One connection's SMTP state; replies are flushed once per read batch (pipelining). */
    static final class Session extends ChannelInboundHandlerAdapter {
        private final SSLContext tls;
        private final String user;
        private final String password;
        private final String plain;
        private boolean encrypted;
        private boolean authenticated;
        private boolean inData;
        private int loginStep;
        private String loginUser;

        Session(SSLContext tls, String user, String password, String plain) {
            this.tls = tls;
            this.user = user;
            this.password = password;
            this.plain = plain;
            this.authenticated = tls == null;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(text("220 sink.bench.test ESMTP\r\n"));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            String line;
            try {
                if (inData) {
                    if (buf.readableBytes() == 1 && buf.getByte(buf.readerIndex()) == '.'
                            || buf.readableBytes() == 2 && buf.getByte(buf.readerIndex()) == '.' && buf.getByte(buf.readerIndex() + 1) == '\r') {
                        inData = false;
                        messages.incrementAndGet();
                        ctx.write(text("250 2.0.0 Ok: queued\r\n"));
                    }
                    return;
                }
                line = buf.toString(StandardCharsets.UTF_8).strip();
            } finally {
                buf.release();
            }
            String upper = line.toUpperCase();
            if (loginStep > 0) {
                login(ctx, line);
            } else if (upper.startsWith("EHLO")) {
                ctx.write(text("250-sink.bench.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
                        + (tls == null ? "" : encrypted ? "250-AUTH PLAIN LOGIN\r\n" : "250-STARTTLS\r\n")
                        + "250 ENHANCEDSTATUSCODES\r\n"));
            } else if (upper.startsWith("HELO")) {
                ctx.write(text("250 sink.bench.test\r\n"));
            } else if (upper.equals("STARTTLS") && !encrypted && tls != null) {
                ctx.writeAndFlush(text("220 2.0.0 Ready to start TLS\r\n"));
                SSLEngine engine = ServerTls.serverEngine(tls);
                SslHandler ssl = new SslHandler(engine);
                ctx.pipeline().addFirst("tls", ssl);
                encrypted = true;
                authenticated = false;
                ssl.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) {
                        handshakes.incrementAndGet();
                        String id = Base64.getEncoder().encodeToString(engine.getSession().getId());
                        if (!seenSessions.add(id)) {
                            resumed.incrementAndGet();
                        }
                    }
                });
            } else if (upper.startsWith("AUTH PLAIN ") && encrypted) {
                auth(ctx, line.substring(11).strip().equals(plain));
            } else if (upper.equals("AUTH LOGIN") && encrypted) {
                loginStep = 1;
                ctx.write(text("334 VXNlcm5hbWU6\r\n"));
            } else if (upper.startsWith("MAIL FROM:")) {
                ctx.write(text(authenticated ? "250 2.1.0 Ok\r\n" : "530 5.7.0 Authentication required\r\n"));
            } else if (upper.startsWith("RCPT TO:")) {
                ctx.write(text(authenticated ? "250 2.1.5 Ok\r\n" : "554 5.5.1 Error: no valid recipients\r\n"));
            } else if (upper.equals("DATA")) {
                if (authenticated) {
                    inData = true;
                    ctx.write(text("354 End data with <CR><LF>.<CR><LF>\r\n"));
                } else {
                    ctx.write(text("554 5.5.1 Error: no valid recipients\r\n"));
                }
            } else if (upper.equals("RSET") || upper.equals("NOOP")) {
                ctx.write(text("250 2.0.0 Ok\r\n"));
            } else if (upper.equals("QUIT")) {
                ctx.writeAndFlush(text("221 2.0.0 Bye\r\n")).addListener(f -> ctx.close());
            } else {
                ctx.write(text("502 5.5.2 Error: command not recognized\r\n"));
            }
        }

        private void login(ChannelHandlerContext ctx, String line) {
            String value = new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8);
            if (loginStep == 1) {
                loginUser = value;
                loginStep = 2;
                ctx.write(text("334 UGFzc3dvcmQ6\r\n"));
            } else {
                loginStep = 0;
                auth(ctx, user.equals(loginUser) && password.equals(value));
            }
        }

        private void auth(ChannelHandlerContext ctx, boolean ok) {
            authenticated = ok;
            if (!ok) {
                authFailures.incrementAndGet();
            }
            ctx.write(text(ok ? "235 2.7.0 Authentication successful\r\n" : "535 5.7.8 Error: authentication failed\r\n"));
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private static ByteBuf text(String s) {
            return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
        }
    }
}
