package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.BareNewlinePolicy;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.IncomingMessage;
import org.relaymta.core.spool.Envelope;
import org.relaymta.server.tls.ServerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound SMTP session (RFC 5321 with PIPELINING, STARTTLS, AUTH PLAIN/LOGIN, SIZE, 8BITMIME,
 * SMTPUTF8, ENHANCEDSTATUSCODES) and the relay's policy: who may relay, limits, deadlines, and
 * line-end safety. Runs on its channel's event loop; commands are answered in order, and while a
 * spool commit or a password check runs elsewhere the rest of the input waits unread.
 *
 * <p>{@code 250} to the end of DATA is sent only after the spool commit (fsync) returned.
 */
final class SmtpSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SmtpSession.class);
    /** Longest command line accepted (RFC 5321 asks for 512; AUTH responses need more). */
    private static final int MAX_LINE = 4096;
    private static final DateTimeFormatter RFC_5322_DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z (z)", Locale.ROOT);

    private enum Phase { COMMAND, DATA, AUTH }

    private final RelayListener.Shared shared;
    private final RelayListener.Mode mode;
    private final RelayConfig config;
    private final String hostname;

    private ChannelHandlerContext ctx;
    private ByteBuf input;
    private InetAddress clientIp;
    private String client = "unknown";
    private static final org.slf4j.Logger SMTPD_LOG = org.slf4j.LoggerFactory.getLogger("org.relaymta.smtpd");
    private boolean admitted;
    private Phase phase = Phase.COMMAND;
    /** A spool commit or password check is running: input is left unread until it answers. */
    private boolean busy;
    private boolean closing;
    private boolean discardingLongLine;
    private int errors;

    private String helo;
    private boolean esmtp;
    private boolean tls;
    private String authUser;

    private String sender;
    private final List<String> recipients = new ArrayList<>();

    private IncomingMessage message;
    private OutputStream content;
    private DataReader dataReader;
    private long dataBytes;
    private boolean tooBig;
    private IOException writeFailure;
    private ScheduledFuture<?> dataDeadline;

    private final DataReader.Sink contentSink = this::acceptContent;
    private String authMechanism;
    private String loginUser;

    SmtpSession(RelayListener.Shared shared, RelayListener.Mode mode, RelayConfig config, boolean implicitTls) {
        this.shared = shared;
        this.mode = mode;
        this.config = config;
        this.hostname = config.myhostname();
        this.tls = implicitTls;
    }

    // ---------------------------------------------------------------- channel events

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.input = ctx.alloc().heapBuffer(1024);
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress isa && isa.getAddress() != null) {
            clientIp = isa.getAddress();
            client = clientIp.getHostAddress();
        }
        String refusal = clientIp == null ? null : shared.limiter.admit(clientIp);
        if (refusal != null) {
            log.info("reject: connect from {}: {}", client, refusal);
            closing = true;
            ctx.writeAndFlush(line(refusal)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        admitted = clientIp != null;
        ctx.writeAndFlush(line("220 " + hostname + " ESMTP Relay MTA"));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        abortMessage();
        if (admitted) {
            admitted = false;
            shared.limiter.release(clientIp);
            if (tls) {
                shared.engine.metrics().inboundTls();
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
            }
        } finally {
            in.release();
        }
        process();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && !busy && !closing) {
            log.info("timeout after {} from {}", phase == Phase.DATA ? "DATA" : "command", client);
            abortMessage();
            closeWith("421 4.4.2 " + hostname + " Error: timeout exceeded");
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // TLS handshake failures and resets: nothing accepted is at stake (a message is only kept after 250).
        log.debug("session with {} ended: {}", client, cause.toString());
        closing = true;
        ctx.close();
    }

    // ---------------------------------------------------------------- input

    /** Handles buffered input until it runs out or the session waits on a commit. */
    private void process() {
        while (!busy && !closing && input != null && input.isReadable() && ctx.channel().isWritable()) {
            if (phase == Phase.DATA) {
                if (dataReader.read(input, contentSink)) {
                    endOfData();
                }
                continue;
            }
            int start = input.readerIndex();
            int lf = input.indexOf(start, input.writerIndex(), (byte) '\n');
            if (lf < 0) {
                if (input.readableBytes() > MAX_LINE) {
                    input.skipBytes(input.readableBytes());
                    if (!discardingLongLine) {
                        discardingLongLine = true;
                        reply(500, "5.5.6 Error: line too long");
                    }
                }
                break;
            }
            int length = lf - start;
            if (discardingLongLine || length > MAX_LINE) {
                input.readerIndex(lf + 1);
                if (!discardingLongLine) {
                    reply(500, "5.5.6 Error: line too long");
                }
                discardingLongLine = false;
                continue;
            }
            int end = length > 0 && input.getByte(lf - 1) == '\r' ? lf - 1 : lf;
            String line = input.toString(start, end - start, StandardCharsets.UTF_8);
            input.readerIndex(lf + 1);
            if (phase == Phase.AUTH) {
                authResponse(line);
            } else {
                command(line);
            }
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

    // ---------------------------------------------------------------- commands

    private void command(String line) {
        int space = line.indexOf(' ');
        String verb = (space < 0 ? line : line.substring(0, space)).toUpperCase(Locale.ROOT);
        String arg = space < 0 ? "" : line.substring(space + 1).strip();
        if (mode == RelayListener.Mode.SUBMISSION && !tls && !verb.equals("EHLO") && !verb.equals("HELO")
                && !verb.equals("STARTTLS") && !verb.equals("QUIT") && !verb.equals("NOOP") && !verb.equals("RSET")) {
            reply(530, "5.7.0 Must issue a STARTTLS command first");
            return;
        }
        switch (verb) {
            case "EHLO" -> hello(arg, true);
            case "HELO" -> hello(arg, false);
            case "MAIL" -> mail(arg);
            case "RCPT" -> rcpt(arg);
            case "DATA" -> data(arg);
            case "RSET" -> {
                resetTransaction();
                reply(250, "2.0.0 Ok");
            }
            case "NOOP" -> reply(250, "2.0.0 Ok");
            case "QUIT" -> closeWith("221 2.0.0 Bye");
            case "STARTTLS" -> startTls(arg);
            case "AUTH" -> auth(arg);
            case "VRFY" -> reply(252, "2.0.0 Cannot VRFY user; try RCPT to attempt delivery");
            case "HELP" -> reply(214, "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH VRFY HELP");
            case "EXPN", "ETRN", "TURN", "BDAT" -> reply(502, "5.5.1 Error: command not implemented");
            case "" -> reply(500, "5.5.2 Error: bad syntax");
            default -> reply(500, "5.5.2 Error: command not recognized");
        }
    }

    private void hello(String arg, boolean extended) {
        if (arg.isEmpty()) {
            reply(501, "5.5.4 Syntax: " + (extended ? "EHLO" : "HELO") + " hostname");
            return;
        }
        resetTransaction();
        helo = arg;
        esmtp = extended;
        if (!extended) {
            reply(250, hostname);
            return;
        }
        List<String> lines = new ArrayList<>();
        lines.add(hostname);
        lines.add("PIPELINING");
        long limit = config.messageSizeLimit();
        lines.add(limit > 0 ? "SIZE " + limit : "SIZE");
        if (shared.tls != null && !tls) {
            lines.add("STARTTLS");
        }
        if (authOffered()) {
            lines.add("AUTH PLAIN LOGIN");
        }
        lines.add("ENHANCEDSTATUSCODES");
        lines.add("8BITMIME");
        lines.add("SMTPUTF8");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            sb.append("250").append(i == lines.size() - 1 ? ' ' : '-').append(lines.get(i)).append("\r\n");
        }
        write(sb.toString());
    }

    /** Like Postfix smtpd_tls_auth_only: no password over plaintext when TLS is available. */
    private boolean authOffered() {
        return authUser == null && (tls || shared.tls == null);
    }

    private boolean authRequired() {
        return mode != RelayListener.Mode.RELAY;
    }

    private void mail(String arg) {
        if (sender != null) {
            reply(503, "5.5.1 Error: nested MAIL command");
            return;
        }
        if (authRequired() && authUser == null) {
            reply(530, "5.7.0 Authentication required");
            return;
        }
        Path path = Path.parse(arg, "FROM:");
        if (path == null) {
            reply(501, "5.5.4 Syntax: MAIL FROM:<address>");
            return;
        }
        if (!path.address().isEmpty() && !plausible(path.address())) {
            reply(501, "5.1.7 Bad sender address syntax");
            return;
        }
        if (!shared.engine.hasRoomForMail()) {
            // Postfix's check before MAIL: refuse now rather than after the whole body.
            log.warn("not enough free space in the spool's file system: refusing mail from {}", client);
            reply(452, "4.3.1 Insufficient system storage");
            return;
        }
        for (String param : path.parameters()) {
            int eq = param.indexOf('=');
            String key = (eq < 0 ? param : param.substring(0, eq)).toUpperCase(Locale.ROOT);
            String value = eq < 0 ? null : param.substring(eq + 1);
            switch (key) {
                case "SIZE" -> {
                    long declared;
                    try {
                        declared = Long.parseLong(value == null ? "" : value);
                    } catch (NumberFormatException e) {
                        declared = -1;
                    }
                    if (declared < 0) {
                        reply(501, "5.5.4 Bad SIZE parameter");
                        return;
                    }
                    if (config.messageSizeLimit() > 0 && declared > config.messageSizeLimit()) {
                        reply(552, "5.3.4 Message size exceeds fixed limit");
                        return;
                    }
                }
                case "BODY" -> {
                    if (value == null || !(value.equalsIgnoreCase("7BIT") || value.equalsIgnoreCase("8BITMIME"))) {
                        reply(501, "5.5.4 Bad BODY parameter");
                        return;
                    }
                }
                case "SMTPUTF8", "AUTH" -> {
                    // SMTPUTF8 is accepted as offered; AUTH= (RFC 4954) is informational for a relay.
                }
                default -> {
                    reply(555, "5.5.4 Unsupported option: " + printable(param, 40));
                    return;
                }
            }
        }
        sender = path.address();
        reply(250, "2.1.0 Ok");
    }

    private void rcpt(String arg) {
        if (sender == null) {
            reply(503, "5.5.1 Error: need MAIL command");
            return;
        }
        Path path = Path.parse(arg, "TO:");
        if (path == null) {
            reply(501, "5.5.4 Syntax: RCPT TO:<address>");
            return;
        }
        String address = path.address();
        int at = address.lastIndexOf('@');
        if (!plausible(address) || at <= 0 || at == address.length() - 1) {
            reply(501, "5.1.3 Bad recipient address syntax");
            return;
        }
        if (!path.parameters().isEmpty()) {
            reply(555, "5.5.4 Unsupported option: " + printable(path.parameters().get(0), 40));
            return;
        }
        if (recipients.size() >= config.listener().recipientLimit()) {
            reply(452, "4.5.3 Error: too many recipients");
            return;
        }
        if (!mayRelay()) {
            log.info("reject: RCPT from {}: 554 5.7.1 <{}>: Relay access denied; from=<{}>", client, address, sender);
            reply(554, "5.7.1 <" + address + ">: Relay access denied");
            return;
        }
        recipients.add(address);
        reply(250, "2.1.5 Ok");
    }

    private boolean mayRelay() {
        if (authUser != null) {
            return true;
        }
        return !authRequired() && clientIp != null && config.mynetworks().contains(clientIp);
    }

    private void data(String arg) {
        if (sender == null) {
            reply(503, "5.5.1 Error: need MAIL command");
            return;
        }
        if (recipients.isEmpty()) {
            reply(503, "5.5.1 Error: need RCPT command");
            return;
        }
        if (!arg.isEmpty()) {
            reply(501, "5.5.4 Syntax: DATA");
            return;
        }
        try {
            message = shared.engine.receive(new Envelope(sender, recipients, shared.engine.clock().instant(), client));
            // Postfix's smtpd line for a new queue file (log tools count received mail by it); no reverse DNS here.
            SMTPD_LOG.info("{}: client=unknown[{}]", message.queueId(), client);
            content = message.content();
            content.write(receivedHeader(message.queueId()).getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            log.error("cannot create spool file: {}", e.getMessage());
            abortMessage();
            reply(451, "4.3.0 Error: queue file write error");
            return;
        }
        phase = Phase.DATA;
        dataReader = new DataReader();
        dataBytes = 0;
        tooBig = false;
        writeFailure = null;
        // A slow-drip client is cut off at the deadline, however steadily it sends.
        dataDeadline = ctx.executor().schedule(this::dataDeadlineExceeded, config.listener().timeout().toMillis(),
                TimeUnit.MILLISECONDS);
        reply(354, "End data with <CR><LF>.<CR><LF>");
    }

    /** Content as it arrives: counted against the size limit, written to the spool until something went wrong. */
    private void acceptContent(ByteBuf source, int index, int length) {
        dataBytes += length;
        if (tooBig || writeFailure != null) {
            return;
        }
        long limit = config.messageSizeLimit();
        if (limit > 0 && dataBytes > limit) {
            tooBig = true;
            return;
        }
        try {
            if (source.hasArray()) {
                content.write(source.array(), source.arrayOffset() + index, length);
            } else {
                content.write(ByteBufUtil.getBytes(source, index, length, false));
            }
        } catch (IOException e) {
            writeFailure = e;
        }
    }

    private void endOfData() {
        phase = Phase.COMMAND;
        cancelDeadline();
        IncomingMessage m = message;
        message = null;
        if (tooBig) {
            m.abort();
            log.info("reject: DATA from {}: 552 5.3.4 message size {} exceeds limit {}", client, dataBytes,
                    config.messageSizeLimit());
            endTransaction(552, "5.3.4 Error: message file too big");
            return;
        }
        if (writeFailure != null) {
            m.abort();
            log.error("spool write failed: {}", writeFailure.getMessage());
            endTransaction(451, "4.3.0 Error: queue file write error");
            return;
        }
        if (m.bareNewlines() > 0 && config.bareNewlinePolicy() == BareNewlinePolicy.REJECT) {
            m.abort();
            endTransaction(550, "5.5.2 Error: bare <LF> or <CR> received");
            return;
        }
        long size = dataBytes;
        int nrcpt = recipients.size();
        String from = sender;
        pause();
        long endOfData = System.nanoTime();
        m.commitAsync(shared.workers).whenComplete((queued, failed) -> ctx.executor().execute(() -> {
            if (failed != null) {
                Throwable cause = failed instanceof java.util.concurrent.CompletionException && failed.getCause() != null
                        ? failed.getCause() : failed;
                log.error("spool commit failed: {}", cause.getMessage());
                endTransaction(451, "4.3.0 Error: queue file write error");
            } else {
                if (m.bareNewlines() > 0) {
                    log.info("{}: {} bare newline(s) normalized to CRLF (from=<{}>, nrcpt={}, size={})", queued,
                            m.bareNewlines(), from, nrcpt, size);
                }
                endTransaction(250, "2.0.0 Ok: queued as " + queued);
                shared.engine.metrics().dataReply(java.time.Duration.ofNanos(System.nanoTime() - endOfData));
            }
            resume();
        }));
    }

    /** A reply to the end of DATA ends the mail transaction (RFC 5321 4.1.1.4), whatever the code. */
    private void endTransaction(int code, String text) {
        resetTransaction();
        reply(code, text);
    }

    private void dataDeadlineExceeded() {
        if (phase == Phase.DATA && !closing) {
            log.info("reject: DATA from {}: 421 4.4.2 timeout exceeded", client);
            abortMessage();
            closeWith("421 4.4.2 " + hostname + " Error: timeout exceeded while receiving the message");
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
        if (message != null) {
            message.abort();
            message = null;
        }
    }

    private void resetTransaction() {
        sender = null;
        recipients.clear();
    }

    // ---------------------------------------------------------------- STARTTLS and AUTH

    private void startTls(String arg) {
        if (!arg.isEmpty()) {
            reply(501, "5.5.4 Syntax: STARTTLS");
            return;
        }
        if (shared.tls == null) {
            reply(454, "4.7.0 TLS not available");
            return;
        }
        if (tls) {
            reply(554, "5.5.1 Error: TLS already active");
            return;
        }
        // Anything pipelined after STARTTLS was sent in plaintext: never let it into the TLS session.
        input.clear();
        SslHandler handler = new SslHandler(ServerTls.serverEngine(shared.tls), true);
        ctx.pipeline().addFirst("tls", handler);
        tls = true;
        helo = null;
        esmtp = false;
        resetTransaction();
        handler.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                log.info("TLS handshake with {} failed: {}", client, f.cause() == null ? "?" : f.cause().getMessage());
                ctx.close();
            }
        });
        write("220 2.0.0 Ready to start TLS\r\n");
        ctx.flush();
    }

    private void auth(String arg) {
        if (authUser != null) {
            reply(503, "5.5.1 Error: already authenticated");
            return;
        }
        if (sender != null) {
            reply(503, "5.5.1 Error: MAIL transaction in progress");
            return;
        }
        if (shared.tls != null && !tls) {
            reply(538, "5.7.11 Encryption required for requested authentication mechanism");
            return;
        }
        String[] words = arg.split("\\s+");
        String mechanism = words[0].toUpperCase(Locale.ROOT);
        String initial = words.length > 1 ? words[1] : null;
        switch (mechanism) {
            case "PLAIN" -> {
                authMechanism = mechanism;
                if (initial == null) {
                    phase = Phase.AUTH;
                    reply(334, "");
                } else {
                    plain(initial);
                }
            }
            case "LOGIN" -> {
                authMechanism = mechanism;
                loginUser = null;
                phase = Phase.AUTH;
                if (initial == null) {
                    reply(334, "VXNlcm5hbWU6");
                } else {
                    authResponse(initial);
                }
            }
            case "" -> reply(501, "5.5.4 Syntax: AUTH mechanism");
            default -> reply(504, "5.5.4 Unrecognized authentication type");
        }
    }

    private void authResponse(String line) {
        phase = Phase.COMMAND;
        if (line.equals("*")) {
            reply(501, "5.7.0 Authentication aborted");
            return;
        }
        if (authMechanism.equals("PLAIN")) {
            plain(line);
            return;
        }
        String decoded = decode(line);
        if (decoded == null) {
            return;
        }
        if (loginUser == null) {
            loginUser = decoded;
            phase = Phase.AUTH;
            reply(334, "UGFzc3dvcmQ6");
        } else {
            verify(loginUser, decoded);
        }
    }

    private void plain(String response) {
        String decoded = decode(response);
        if (decoded == null) {
            return;
        }
        String[] parts = decoded.split("\0", -1);
        if (parts.length != 3) {
            reply(501, "5.5.2 Invalid AUTH PLAIN response");
            return;
        }
        verify(parts[1], parts[2]);
    }

    private String decode(String base64) {
        try {
            return new String(Base64.getDecoder().decode(base64.strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            reply(501, "5.5.2 Cannot decode response");
            return null;
        }
    }

    /** Hashing is slow by design: checked on a worker; a client that keeps failing waits longer for each answer. */
    private void verify(String user, String password) {
        String mechanism = authMechanism;
        Duration delay = shared.authenticator.delayFor(client);
        pause();
        shared.workers.execute(() -> {
            boolean ok = shared.authenticator.check(mechanism, user, password, client);
            ctx.executor().schedule(() -> {
                if (ok) {
                    authUser = user;
                    reply(235, "2.7.0 Authentication successful");
                } else {
                    reply(535, "5.7.8 Error: authentication failed");
                }
                resume();
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        });
    }

    // ---------------------------------------------------------------- replies

    /** Every 4xx/5xx counts; past {@code smtpd_hard_error_limit} the session is dropped, as Postfix does. */
    private void reply(int code, String text) {
        if (closing) {
            return;
        }
        if (code >= 400 && ++errors >= config.listener().hardErrorLimit()) {
            log.info("reject: {}: too many errors, disconnecting", client);
            abortMessage();
            closeWith("421 4.7.0 " + hostname + " Error: too many errors");
            return;
        }
        write(text.isEmpty() ? code + " \r\n" : code + " " + text + "\r\n");
    }

    private void write(String text) {
        ctx.write(encode(text));
    }

    private ByteBuf line(String text) {
        return encode(text + "\r\n");
    }

    private ByteBuf encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ctx.alloc().buffer(bytes.length).writeBytes(bytes);
    }

    private void closeWith(String text) {
        closing = true;
        ctx.writeAndFlush(line(text)).addListener(ChannelFutureListener.CLOSE);
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Postfix-style trace header: HELO name, client address literal (no reverse DNS per message),
     * protocol (ESMTP, with S for TLS and A for authenticated), queue id, and the recipient when
     * there is just one.
     */
    private String receivedHeader(String queueId) {
        String heloName = helo == null ? "unknown" : printableToken(helo);
        String protocol = (esmtp ? "ESMTP" : "SMTP") + (tls ? "S" : "") + (authUser != null ? "A" : "");
        String literal = clientIp == null ? "unknown" : clientIp instanceof Inet6Address ? "IPv6:" + client : client;
        StringBuilder h = new StringBuilder(200);
        h.append("Received: from ").append(heloName).append(" ([").append(literal).append("])\r\n");
        h.append("\tby ").append(hostname).append(" (Relay MTA) with ").append(protocol).append(" id ").append(queueId);
        if (recipients.size() == 1) {
            h.append("\r\n\tfor <").append(recipients.get(0)).append(">");
        }
        h.append("; ").append(RFC_5322_DATE.format(shared.engine.clock().instant().atZone(ZoneId.systemDefault())))
                .append("\r\n");
        return h.toString();
    }

    private static String printableToken(String s) {
        String t = s.length() > 255 ? s.substring(0, 255) : s;
        return t.replaceAll("[^\\x21-\\x7e]", "?");
    }

    private static String printable(String s, int max) {
        String t = s.length() > max ? s.substring(0, max) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    /** No controls or spaces (they could forge log lines or headers); anything else is the next hop's business. */
    private static boolean plausible(String address) {
        if (address.isEmpty()) {
            return false;
        }
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c <= 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** A MAIL FROM / RCPT TO argument: the address without angle brackets or source route, and the parameters. */
    record Path(String address, List<String> parameters) {
        static Path parse(String arg, String keyword) {
            if (arg.length() < keyword.length() || !arg.regionMatches(true, 0, keyword, 0, keyword.length())) {
                return null;
            }
            String rest = arg.substring(keyword.length()).stripLeading();
            String address;
            String params;
            if (rest.startsWith("<")) {
                int close = closingBracket(rest);
                if (close < 0) {
                    return null;
                }
                address = rest.substring(1, close);
                params = rest.substring(close + 1);
                if (!params.isEmpty() && params.charAt(0) != ' ') {
                    return null;
                }
            } else {
                // Without brackets, as Postfix accepts with strict_rfc821_envelopes = no.
                int sp = rest.indexOf(' ');
                address = sp < 0 ? rest : rest.substring(0, sp);
                params = sp < 0 ? "" : rest.substring(sp);
                if (address.isEmpty()) {
                    return null;
                }
            }
            if (address.startsWith("@")) {
                // A source route (<@a,@b:user@c>) is obsolete; RFC 5321 says use the mailbox.
                int colon = address.indexOf(':');
                address = colon < 0 ? address : address.substring(colon + 1);
            }
            List<String> parameters = new ArrayList<>();
            for (String p : params.strip().split(" +")) {
                if (!p.isEmpty()) {
                    parameters.add(p);
                }
            }
            return new Path(address, parameters);
        }

        /** The '>' that ends the path, skipping quoted local parts ({@code <"a>b"@c>}). */
        private static int closingBracket(String s) {
            boolean quoted = false;
            for (int i = 1; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && quoted) {
                    i++;
                } else if (c == '"') {
                    quoted = !quoted;
                } else if (c == '>' && !quoted) {
                    return i;
                }
            }
            return -1;
        }
    }
}
