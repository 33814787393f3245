package org.relaymta.server.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One admin connection on its event loop: one request per connection. Its head must arrive within
 * the deadline (else {@code 408} and close); then reading stops and {@link AdminRequests} answers
 * and closes. Nothing here blocks.
 */
final class AdminConnection extends ChannelInboundHandlerAdapter {
    private final AdminRequests requests;
    private final Duration deadline;
    private ScheduledFuture<?> timer;
    private boolean requested;

    AdminConnection(AdminRequests requests, Duration deadline) {
        this.requests = requests;
        this.deadline = deadline;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(() -> {
            if (!requested) {
                requested = true;
                AdminResponses.error(ctx.channel(), HttpResponseStatus.REQUEST_TIMEOUT, "the request did not arrive in time");
            }
        }, deadline.toMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpRequest request && !requested) {
                requested = true;
                timer.cancel(false);
                ctx.channel().config().setAutoRead(false);   // a body (refused) or a second request is never read
                requests.handle(ctx.channel(), request);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();   // resets, TLS probes on a plain port: nothing to answer
    }
}
