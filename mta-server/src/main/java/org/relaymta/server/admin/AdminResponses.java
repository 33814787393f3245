package org.relaymta.server.admin;

import com.google.gson.JsonObject;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.internal.Json;

/** How the admin endpoint answers: whole responses, or a body streamed in chunks with backpressure; then the connection closes. */
final class AdminResponses {
    /** How long one chunk of a streamed body may wait for a client that does not read. */
    private static final long WRITE_TIMEOUT_SECONDS = 30;

    private AdminResponses() {
    }

    static void send(Channel ch, HttpResponseStatus status, String type, String body) {
        send(ch, status, type, body, null);
    }

    static void send(Channel ch, HttpResponseStatus status, String type, String body, String allow) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        r.headers().set("X-Content-Type-Options", "nosniff");
        if (allow != null) {
            r.headers().set(HttpHeaderNames.ALLOW, allow);
        }
        if (type.startsWith("text/html")) {
            // The dashboard: its own scripts and styles only, never framed.
            r.headers().set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        }
        if (status == HttpResponseStatus.UNAUTHORIZED) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"mta\"");
        }
        ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    /** A JSON error body: {@code {"error": "..."}}; the text is ours, never the request's. */
    static void error(Channel ch, HttpResponseStatus status, String text) {
        error(ch, status, text, null);
    }

    static void error(Channel ch, HttpResponseStatus status, String text, String allow) {
        JsonObject o = Json.object();
        o.addProperty("error", text);
        send(ch, status, "application/json", Json.write(o) + "\n", allow);
    }

    /**
     * A chunked body for a caller on a worker thread: each 64 KiB is written and waited for, so a
     * listing of 100,000 messages never sits in memory and a client that stops reading holds a
     * worker at most {@link #WRITE_TIMEOUT_SECONDS} per chunk. Closing the stream ends the response.
     */
    static OutputStream stream(Channel ch, String type) throws IOException {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        head.headers().set("X-Content-Type-Options", "nosniff");
        await(ch.writeAndFlush(head));
        return new OutputStream() {
            private final byte[] buffer = new byte[64 * 1024];
            private int count;

            @Override
            public void write(int b) throws IOException {
                if (count == buffer.length) {
                    flushChunk();
                }
                buffer[count++] = (byte) b;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                while (len > 0) {
                    if (count == buffer.length) {
                        flushChunk();
                    }
                    int n = Math.min(len, buffer.length - count);
                    System.arraycopy(b, off, buffer, count, n);
                    count += n;
                    off += n;
                    len -= n;
                }
            }

            private void flushChunk() throws IOException {
                if (count > 0) {
                    await(ch.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(buffer, 0, count))));
                    count = 0;
                }
            }

            @Override
            public void close() throws IOException {
                flushChunk();
                ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
            }
        };
    }

    private static void await(ChannelFuture f) throws IOException {
        try {
            if (!f.await(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                f.channel().close();
                throw new IOException("the client did not read the response for " + WRITE_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.channel().close();
            throw new IOException("interrupted", e);
        }
        if (!f.isSuccess()) {
            throw new IOException("the client went away: " + f.cause());
        }
    }
}
