package org.relaymta.core.internal.tls;

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
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509TrustManager;

/**
 * One HTTPS request over the engine's event loops to an address the relay's own resolver found:
 * MTA-STS policy fetches and TLS report uploads. The server's certificate must be PKIX-valid for the
 * host name (the trust store of {@code smtp_tls_CAfile}/{@code smtp_tls_CApath} or the system's);
 * the answer is bounded in size and time, and redirects are never followed (the caller sees the
 * status). The JDK's HttpClient cannot be told which address a name has on Java 17, so it would
 * resolve through the system instead of the relay's resolver.
 */
public final class HttpsRequests {
    /** The answer: status, media type and body. */
    public record Response(int status, String contentType, byte[] body) {
    }

    private final EventLoopGroup group;
    private final SslContext context;

    public HttpsRequests(EventLoopGroup group, X509TrustManager trust) {
        this.group = group;
        try {
            this.context = SslContextBuilder.forClient().trustManager(trust).endpointIdentificationAlgorithm("HTTPS")
                    .protocols("TLSv1.3", "TLSv1.2").build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the HTTPS client context: " + e.getMessage(), e);
        }
    }

    /**
     * Sends {@code method path} to {@code host} at {@code address:port}. Fails with the cause when the
     * connection, the handshake (an untrusted or misnamed certificate: {@link SSLException}), or the
     * answer within {@code timeout} fails, or when the body exceeds {@code maxBody} bytes.
     */
    public CompletableFuture<Response> send(HttpMethod method, String host, InetAddress address, int port, String path,
                                            Map<String, String> headers, byte[] body, Duration timeout, int maxBody) {
        return send(true, method, host, address, port, path, headers, body, timeout, maxBody);
    }

    /** As above; {@code tls} false sends plain HTTP (event webhooks on a loopback address only). */
    public CompletableFuture<Response> send(boolean tls, HttpMethod method, String host, InetAddress address, int port,
                                            String path, Map<String, String> headers, byte[] body, Duration timeout,
                                            int maxBody) {
        CompletableFuture<Response> result = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls) {
                            SslHandler ssl = context.newHandler(ch.alloc(), host, port);
                            ch.pipeline().addLast(ssl);
                        }
                        ch.pipeline().addLast(new HttpClientCodec(4096, 8192, 8192), new HttpObjectAggregator(maxBody),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                        byte[] bytes = new byte[r.content().readableBytes()];
                                        r.content().readBytes(bytes);
                                        String type = r.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
                                        result.complete(new Response(r.status().code(), type, bytes));
                                        ctx.close();
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        result.completeExceptionally(cause);
                                        ctx.close();
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        result.completeExceptionally(new IOException("connection closed before an answer"));
                                    }
                                });
                    }
                });
        ChannelFuture connect = b.connect(new InetSocketAddress(address, port));
        Channel channel = connect.channel();
        ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
            if (result.completeExceptionally(new TimeoutException("no answer within " + timeout.toSeconds()
                    + " s"))) {
                channel.close();
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        result.whenComplete((r, e) -> deadline.cancel(false));
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
            }
            ByteBuf content = body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path, content);
            request.headers().set(HttpHeaderNames.HOST, port == (tls ? 443 : 80) ? host : host + ":" + port);
            request.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            request.headers().set(HttpHeaderNames.USER_AGENT, "relay-mta");
            headers.forEach((k, v) -> request.headers().set(k, v));
            if (body != null) {
                request.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            }
            channel.writeAndFlush(request);
        });
        return result;
    }

    /** The media type without parameters, lower case: {@code text/plain; charset=utf-8} is {@code text/plain}. */
    public static String mediaType(String contentType) {
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    /** The certificate problems of a failed request, for the TLS reports: {@code sts-webpki-invalid} when the chain or name failed. */
    public static boolean certificateProblem(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SSLException || c instanceof CertificateException) {
                return true;
            }
        }
        return false;
    }
}
