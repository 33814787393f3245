package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.IncomingMessage;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.server.tls.ServerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound SMTP session on its channel's event loop: the input loop (lines from the {@link
 * CommandDecoder}, content to the {@link MessageIntake}), dispatch to one {@link Verb} per
 * command, replies and the error limit, timeouts (shorter under stress), and the two waits that
 * leave the event loop (the spool commit before {@code 250}, a password check) during which the
 * rest of the input stays unread. What the session knows is in {@link SessionState}; policy is in
 * the hooks the verbs ask.
 *
 * <p>Over 400 lines: the input loop, reply accounting, timeouts and the pause/resume around the two
 * waits all act on this channel's state and order, so they stay together; what a command means,
 * policy and content handling are in the verbs, hooks and {@link MessageIntake}.
 */
final class SmtpSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SmtpSession.class);
    private static final Logger SMTPD_LOG = LoggerFactory.getLogger("org.relaymta.smtpd");
    /** What a submission client may say before STARTTLS. */
    private static final Set<String> BEFORE_TLS = Set.of("EHLO", "HELO", "STARTTLS", "QUIT", "NOOP", "RSET");

    private enum Phase { COMMAND, DATA, DISCARD }

    private final RelayListener.Shared shared;
    private final RelayListener.Mode mode;
    private final RelayConfig config;
    private final boolean implicitTls;
    private final CommandDecoder decoder = new CommandDecoder();
    private final CommandTally tally = new CommandTally();

    private SessionState state;
    private ChannelHandlerContext ctx;
    private ByteBuf input;
    private boolean admitted;
    private Phase phase = Phase.COMMAND;
    /** A spool commit or password check is running: input is left unread until it answers. */
    private boolean busy;
    private boolean closing;
    private int errors;
    private long lastInputNanos = System.nanoTime();

    /** The handler of the next line when a command asked for one (AUTH's 334 exchanges). */
    private BiConsumer<SmtpSession, String> response;
    private MessageIntake intake;
    private ScheduledFuture<?> dataDeadline;
    private long discardRemaining;
    private Runnable afterDiscard;

    SmtpSession(RelayListener.Shared shared, RelayListener.Mode mode, RelayConfig config, boolean implicitTls) {
        this.shared = shared;
        this.mode = mode;
        this.config = config;
        this.implicitTls = implicitTls;
    }

    // ---------------------------------------------------------------- channel events

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.input = ctx.alloc().heapBuffer(1024);
        InetAddress clientIp = ctx.channel().remoteAddress() instanceof InetSocketAddress isa ? isa.getAddress() : null;
        state = new SessionState(mode, config, clientIp, implicitTls);
        String refusal = clientIp == null ? null : shared.limiter.admit(clientIp);
        if (refusal != null) {
            log.info("reject: connect from {}: {}", state.client(), refusal);
            closing = true;
            ctx.writeAndFlush(encode(refusal + "\r\n")).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        admitted = clientIp != null;
        SMTPD_LOG.info("connect from unknown[{}]", state.client());
        shared.receiver.sessionOpened();
        ctx.writeAndFlush(encode("220 " + config.myhostname() + " ESMTP Relay MTA\r\n"));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        abortMessage();
        if (admitted) {
            admitted = false;
            SMTPD_LOG.info("disconnect from unknown[{}] {}", state.client(), tally.summary());
            shared.limiter.release(state.clientIp());
            if (state.tls) {
                shared.receiver.tlsSessionEnded();
            }
        }
        if (input != null) {
            input.release();
            input = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (!closing && input != null) {
                input.writeBytes(in);
                lastInputNanos = System.nanoTime();
            }
        } finally {
            in.release();
        }
        process();
    }

    /**
     * The idle handler ticks at the stress timeout; whether this session has been idle too long
     * depends on whether the listener is under stress ({@code smtpd_timeout}, Postfix's
     * {@code ${stress?{10}:{300}}}; see {@link SessionLimiter#underStress}).
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (!(evt instanceof IdleStateEvent)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (busy || closing) {
            return;
        }
        boolean stressed = shared.limiter.underStress();
        Duration limit = config.listener().timeout(stressed);
        if (System.nanoTime() - lastInputNanos >= limit.toNanos()) {
            log.info("timeout after {} from {}{}", phase == Phase.DATA ? "DATA" : "command", state.client(),
                    stressed ? " (under stress)" : "");
            abortMessage();
            closeWith("421 4.4.2 " + config.myhostname() + " Error: timeout exceeded");
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // TLS handshake failures and resets: nothing accepted is at stake (a message is only kept after 250).
        log.debug("session with {} ended: {}", state == null ? "?" : state.client(), cause.toString());
        closing = true;
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && !busy && !closing) {
            process();
            if (!busy && !closing && ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(true);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ---------------------------------------------------------------- input

    /** Handles buffered input until it runs out or the session waits on a commit or a password check. */
    private void process() {
        while (!busy && !closing && input != null && input.isReadable() && ctx.channel().isWritable()) {
            if (phase == Phase.DATA) {
                if (intake.read(input)) {
                    endOfData();
                }
                continue;
            }
            if (phase == Phase.DISCARD) {
                int n = (int) Math.min(discardRemaining, input.readableBytes());
                input.skipBytes(n);
                discardRemaining -= n;
                if (discardRemaining == 0) {
                    phase = Phase.COMMAND;
                    afterDiscard.run();
                }
                continue;
            }
            CommandDecoder.Line line = decoder.next(input);
            if (line == null) {
                break;
            }
            if (line.tooLong()) {
                response = null;
                tally.command("");
                reply(500, "5.5.6 Error: line too long");
            } else if (response != null) {
                BiConsumer<SmtpSession, String> handler = response;
                response = null;
                handler.accept(this, line.text());
            } else {
                command(line.text());
            }
        }
        if (phase == Phase.DISCARD && discardRemaining == 0) {
            phase = Phase.COMMAND;
            afterDiscard.run();
        }
        if (input != null) {
            if (!input.isReadable()) {
                input.clear();
            } else if (input.readerIndex() > 64 * 1024) {
                input.discardReadBytes();
            }
        }
        ctx.flush();
        if (!busy && !closing && !ctx.channel().isWritable()) {
            // A client that pipelines without reading its replies: stop reading until it catches up.
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void command(String line) {
        CommandDecoder.Command c = CommandDecoder.Command.parse(line);
        tally.command(c.verb());
        if (mode == RelayListener.Mode.SUBMISSION && !state.tls && !BEFORE_TLS.contains(c.verb())) {
            reply(530, "5.7.0 Must issue a STARTTLS command first");
            return;
        }
        Verb verb = shared.verbs.get(c.verb());
        if (verb != null) {
            verb.handle(this, c.argument());
        } else if (c.verb().isEmpty()) {
            reply(500, "5.5.2 Error: bad syntax");
        } else {
            reply(500, "5.5.2 Error: command not recognized");
        }
    }

    // ---------------------------------------------------------------- what verbs use

    SessionState state() {
        return state;
    }

    boolean tlsAvailable() {
        return shared.tls != null;
    }

    /** The next line goes to {@code handler} instead of being read as a command. */
    void expectResponse(BiConsumer<SmtpSession, String> handler) {
        this.response = handler;
    }

    /** Skips the next {@code bytes} of input (a refused BDAT chunk), then runs {@code then}. */
    void discard(long bytes, Runnable then) {
        phase = Phase.DISCARD;
        discardRemaining = bytes;
        afterDiscard = then;
    }

    /** Every 4xx/5xx counts; past {@code smtpd_hard_error_limit} the session is dropped, as Postfix does. */
    void reply(int code, String text) {
        reply(code, text, code >= 400);
    }

    void reply(HookResult result) {
        reply(result.code(), result.text(), result.countsAsError());
    }

    private void reply(int code, String text, boolean countsAsError) {
        if (closing) {
            return;
        }
        if (countsAsError && ++errors >= config.listener().hardErrorLimit()) {
            log.info("reject: {}: too many errors, disconnecting", state.client());
            abortMessage();
            closeWith("421 4.7.0 " + config.myhostname() + " Error: too many errors");
            return;
        }
        write(text.isEmpty() ? code + " \r\n" : code + " " + text + "\r\n");
    }

    /** Raw reply text (multi-line EHLO); flushed with the rest when the input is handled. */
    void write(String text) {
        tally.replied(text);
        ctx.write(encode(text));
    }

    void closeWith(String text) {
        tally.replied(text);
        closing = true;
        ctx.writeAndFlush(encode(text + "\r\n")).addListener(ChannelFutureListener.CLOSE);
    }

    /** Installs TLS after the 220; anything pipelined after STARTTLS in plaintext is dropped (injection). */
    void startTls() {
        input.clear();
        SslHandler handler = new SslHandler(ServerTls.serverEngine(shared.tls), true);
        ctx.pipeline().addFirst("tls", handler);
        state.tls = true;
        state.helo = null;
        state.esmtp = false;
        state.resetTransaction();
        handler.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                log.info("TLS handshake with {} failed: {}", state.client(), f.cause() == null ? "?" : f.cause().getMessage());
                ctx.close();
            }
        });
        write("220 2.0.0 Ready to start TLS\r\n");
        ctx.flush();
    }

    /**
     * Checks a password on a worker (hashing is slow by design) and answers 235 or 535; a client
     * that keeps failing waits longer for each answer.
     */
    void verify(AccountAuthenticator authenticator, String mechanism, String user, String password) {
        Duration delay = authenticator.delayFor(state.clientIp());
        pause();
        shared.workers.execute(() -> {
            boolean ok = authenticator.check(mechanism, user, password, state.clientIp());
            ctx.executor().schedule(() -> {
                if (ok) {
                    state.authenticated(user, mechanism);
                    reply(235, "2.7.0 Authentication successful");
                } else {
                    reply(535, "5.7.8 Error: authentication failed");
                }
                resume();
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        });
    }

    /** After DATA was accepted: the message is created, the trace header written, and the content phase begins. */
    void startData() {
        IncomingMessage message = null;
        try {
            message = shared.receiver.receive(new Envelope(state.sender(), state.recipients(), shared.receiver.now(),
                    state.client(), state.requireTls));
            // Postfix's smtpd line for a new queue file (log tools count received mail by it); no reverse DNS here.
            if (state.authUser() == null) {
                SMTPD_LOG.info("{}: client=unknown[{}]", message.queueId(), state.client());
            } else {
                SMTPD_LOG.info("{}: client=unknown[{}], sasl_method={}, sasl_username={}", message.queueId(), state.client(),
                        state.authMechanism(), state.authUser());
            }
            intake = new MessageIntake(message, config.content().messageSizeLimit());
            intake.prepend(ReceivedHeader.of(state.helo, state.clientIp(), config.myhostname(), state.esmtp, state.tls,
                    state.authUser(), config.listener().senders().authenticatedHeader(), message.queueId(), state.recipients(),
                    shared.receiver.now()));
        } catch (IOException | RuntimeException e) {
            log.error("cannot create spool file: {}", e.getMessage());
            if (message != null) {
                message.abort();
            }
            intake = null;
            reply(451, "4.3.0 Error: queue file write error");
            return;
        }
        phase = Phase.DATA;
        // A slow-drip client is cut off at the deadline, however steadily it sends.
        dataDeadline = ctx.executor().schedule(this::dataDeadlineExceeded, config.listener().timeout().toMillis(),
                TimeUnit.MILLISECONDS);
        reply(354, "End data with <CR><LF>.<CR><LF>");
    }

    // ---------------------------------------------------------------- end of data

    private void endOfData() {
        phase = Phase.COMMAND;
        cancelDeadline();
        MessageIntake done = intake;
        intake = null;
        pause();
        long endOfData = System.nanoTime();
        done.finish(state.client(), config.content().messageSizeLimit(), config.listener().bareNewlinePolicy(), state.sender(),
                state.recipients().size(), shared.workers).whenComplete((reply, failed) -> ctx.executor().execute(() -> {
                    if (reply == null) {
                        log.error("end of data failed", failed);
                        endTransaction(451, "4.3.0 Error: queue file write error");
                    } else {
                        endTransaction(reply.code(), reply.text());
                        if (reply.accepted()) {
                            shared.receiver.dataReplied(Duration.ofNanos(System.nanoTime() - endOfData));
                        }
                    }
                    resume();
                }));
    }

    /** A reply to the end of DATA ends the mail transaction (RFC 5321 4.1.1.4), whatever the code. */
    private void endTransaction(int code, String text) {
        state.resetTransaction();
        reply(code, text);
    }

    private void dataDeadlineExceeded() {
        if (phase == Phase.DATA && !closing) {
            log.info("reject: DATA from {}: 421 4.4.2 timeout exceeded", state.client());
            abortMessage();
            closeWith("421 4.4.2 " + config.myhostname() + " Error: timeout exceeded while receiving the message");
        }
    }

    private void cancelDeadline() {
        if (dataDeadline != null) {
            dataDeadline.cancel(false);
            dataDeadline = null;
        }
    }

    private void abortMessage() {
        cancelDeadline();
        if (intake != null) {
            intake.message().abort();
            intake = null;
        }
    }

    // ---------------------------------------------------------------- waits

    private void pause() {
        busy = true;
        ctx.channel().config().setAutoRead(false);
        ctx.flush();
    }

    /** Called on the event loop when the waited-for work answered: goes on with buffered input. */
    private void resume() {
        busy = false;
        if (closing) {
            ctx.flush();
            return;
        }
        process();
        if (!busy && !closing && ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private ByteBuf encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ctx.alloc().buffer(bytes.length).writeBytes(bytes);
    }

    static String printable(String s, int max) {
        String t = s.length() > max ? s.substring(0, max) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
