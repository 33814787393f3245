package org.relaymta.server.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.BareNewlinePolicy;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.IncomingMessage;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.spool.Envelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.Session;

/**
 * One SMTP transaction on the listener: relay permission at RCPT, then DATA streamed into the spool
 * with size limit and line-end canonicalisation. {@code 250} is answered only after the spool commit.
 */
final class RelayMessageHandler implements MessageHandler {
    private static final Logger log = LoggerFactory.getLogger(RelayMessageHandler.class);
    private static final int BUFFER = 16 * 1024;

    private final RelayEngine engine;
    private final MessageContext context;
    private final RelayConfig config;
    private final boolean authRequired;
    private final java.util.concurrent.ScheduledExecutorService deadlines;
    private final SessionLimiter limiter;
    private String sender;
    private final List<String> recipients = new ArrayList<>();

    RelayMessageHandler(RelayEngine engine, MessageContext context, boolean authRequired,
                        java.util.concurrent.ScheduledExecutorService deadlines, SessionLimiter limiter) {
        this.deadlines = deadlines;
        this.limiter = limiter;
        this.engine = engine;
        this.context = context;
        this.config = engine.config();
        this.authRequired = authRequired;
    }

    @Override
    public void from(String from) throws RejectException {
        String address = from == null ? "" : from.strip();
        if (address.startsWith("<") && address.endsWith(">")) {
            address = address.substring(1, address.length() - 1);
        }
        if (containsControl(address) || address.contains(" ")) {
            throw refuse(501, "5.1.7 Bad sender address syntax");
        }
        this.sender = address;
    }

    @Override
    public void recipient(String recipient) throws RejectException {
        String address = recipient == null ? "" : recipient.strip();
        if (address.startsWith("<") && address.endsWith(">")) {
            address = address.substring(1, address.length() - 1);
        }
        int at = address.lastIndexOf('@');
        if (address.isEmpty() || containsControl(address) || address.contains(" ") || at <= 0 || at == address.length() - 1) {
            throw refuse(501, "5.1.3 Bad recipient address syntax");
        }
        if (recipients.size() >= config.listener().recipientLimit()) {
            throw refuse(452, "4.5.3 Error: too many recipients");
        }
        if (!mayRelay()) {
            log.info("reject: RCPT from {}: 554 5.7.1 <{}>: Relay access denied; from=<{}>", clientIp(), address, sender);
            throw refuse(554, "5.7.1 <" + address + ">: Relay access denied");
        }
        recipients.add(address);
    }

    private boolean mayRelay() {
        if (context instanceof Session s && s.isAuthenticated()) {
            return true;
        }
        if (authRequired) {
            return false;
        }
        InetAddress ip = clientInetAddress();
        return ip != null && config.mynetworks().contains(ip);
    }

    @Override
    public String data(InputStream data) throws RejectException, IOException {
        long limit = config.messageSizeLimit() > 0 ? config.messageSizeLimit() : Long.MAX_VALUE;
        IncomingMessage message;
        try {
            Envelope envelope = new Envelope(sender == null ? "" : sender, recipients, engine.clock().instant(), clientIp());
            message = engine.receive(envelope);
        } catch (IOException | RuntimeException e) {
            drain(data);
            log.error("cannot create spool file: {}", e.getMessage());
            throw endTransaction(451, "4.3.0 Error: queue file write error");
        }
        try {
            message.content().write(receivedHeader(message.queueId()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            message.abort();
            drain(data);
            throw endTransaction(451, "4.3.0 Error: queue file write error");
        }
        // A slow-drip client is cut off at the deadline: the watchdog answers 421 and closes the socket,
        // which ends the blocked read; the partial message is thrown away.
        java.util.concurrent.ScheduledFuture<?> watchdog = deadlines.schedule(this::dataDeadlineExceeded,
                config.listener().timeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        Copied copied;
        try {
            copied = copy(data, message.content(), limit);
        } catch (IOException | RuntimeException e) {
            // The client went away (or was cut off) mid-DATA: nothing was acknowledged, keep nothing.
            message.abort();
            throw e;
        } finally {
            watchdog.cancel(false);
        }
        long received = copied.bytes();
        if (copied.tooBig()) {
            message.abort();
            log.info("reject: DATA from {}: 552 5.3.4 message size {} exceeds limit {}", clientIp(), received, limit);
            throw endTransaction(552, "5.3.4 Error: message file too big");
        }
        if (copied.writeFailure() != null) {
            message.abort();
            log.error("spool write failed: {}", copied.writeFailure().getMessage());
            throw endTransaction(451, "4.3.0 Error: queue file write error");
        }
        if (message.bareNewlines() > 0 && config.bareNewlinePolicy() == BareNewlinePolicy.REJECT) {
            message.abort();
            throw endTransaction(550, "5.5.2 Error: bare <LF> or <CR> received");
        }
        String id;
        try {
            id = message.commit();
        } catch (IOException | RuntimeException e) {
            log.error("spool commit failed: {}", e.getMessage());
            throw endTransaction(451, "4.3.0 Error: queue file write error");
        }
        log.info("{}: client={}, from=<{}>, nrcpt={}, size={}{}", id, clientIp(), sender, recipients.size(), received,
                message.bareNewlines() > 0 ? ", bare newlines normalized=" + message.bareNewlines() : "");
        return "2.0.0 Ok: queued as " + id;
    }

    private static final java.time.format.DateTimeFormatter RFC_5322_DATE =
            java.time.format.DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z (z)", java.util.Locale.ROOT);

    /**
     * Postfix-style trace header: HELO name, client address literal (no reverse DNS per message),
     * protocol (ESMTP, with S for TLS and A for authenticated), queue id, and the recipient when
     * there is just one.
     */
    private String receivedHeader(String queueId) {
        String helo = context.getHelo().map(RelayMessageHandler::printableToken).orElse("unknown");
        String protocol = "ESMTP";
        if (context instanceof Session s) {
            protocol += (s.isTLSStarted() || s.getSocket() instanceof javax.net.ssl.SSLSocket ? "S" : "")
                    + (s.isAuthenticated() ? "A" : "");
        }
        InetAddress ip = clientInetAddress();
        String literal = ip == null ? "unknown" : ip instanceof java.net.Inet6Address ? "IPv6:" + ip.getHostAddress()
                : ip.getHostAddress();
        StringBuilder h = new StringBuilder(200);
        h.append("Received: from ").append(helo).append(" ([").append(literal).append("])\r\n");
        h.append("\tby ").append(config.myhostname()).append(" (Relay MTA) with ").append(protocol).append(" id ")
                .append(queueId);
        if (recipients.size() == 1) {
            h.append("\r\n\tfor <").append(recipients.get(0)).append(">");
        }
        h.append("; ").append(RFC_5322_DATE.format(engine.clock().instant().atZone(java.time.ZoneId.systemDefault())))
                .append("\r\n");
        return h.toString();
    }

    private static String printableToken(String s) {
        String t = s.length() > 255 ? s.substring(0, 255) : s;
        return t.replaceAll("[^\\x21-\\x7e]", "?");
    }

    /** A refused command; past {@code smtpd_hard_error_limit} the session is dropped, as Postfix does. */
    private RejectException refuse(int code, String text) {
        if (context instanceof Session session && limiter.tooManyErrors(session)) {
            log.info("reject: {}: too many errors, disconnecting", clientIp());
            return new DropConnectionException(421, "4.7.0 " + config.myhostname() + " Error: too many errors");
        }
        return new RejectException(code, text);
    }

    /**
     * A reply to the end of DATA ends the mail transaction (RFC 5321 4.1.1.4), whatever the code.
     * SubEthaSMTP 7.2 resets it only after a 250, so a client's next MAIL would get 503: reset here.
     */
    private RejectException endTransaction(int code, String text) {
        if (context instanceof Session session) {
            session.resetMailTransaction();
        }
        return new RejectException(code, text);
    }

    private void dataDeadlineExceeded() {
        if (context instanceof Session session) {
            log.info("reject: DATA from {}: 421 4.4.2 timeout exceeded", clientIp());
            try {
                session.sendResponse("421 4.4.2 " + config.myhostname() + " Error: timeout exceeded while receiving the message");
            } catch (IOException ignored) {
                // the socket is closed next anyway
            }
            try {
                session.closeSocket();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    private record Copied(long bytes, boolean tooBig, IOException writeFailure) {
    }

    /**
     * Copies DATA into the spool, always reading to the end of data whatever happens, so that the
     * session stays in sync: past the size limit, or after a write failure, the rest is discarded.
     */
    private static Copied copy(InputStream data, OutputStream out, long limit) throws IOException {
        byte[] buffer = new byte[BUFFER];
        long received = 0;
        boolean tooBig = false;
        IOException writeFailure = null;
        int n;
        while ((n = data.read(buffer)) != -1) {
            received += n;
            if (tooBig || writeFailure != null) {
                continue;
            }
            if (received > limit) {
                tooBig = true;
                continue;
            }
            try {
                out.write(buffer, 0, n);
            } catch (IOException e) {
                writeFailure = e;
            }
        }
        return new Copied(received, tooBig, writeFailure);
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[BUFFER];
        while (in.read(buffer) != -1) {
            // discard
        }
    }

    @Override
    public void done() {
        // nothing held between transactions
    }

    private InetAddress clientInetAddress() {
        SocketAddress a = context.getRemoteAddress();
        return a instanceof InetSocketAddress isa ? isa.getAddress() : null;
    }

    private String clientIp() {
        InetAddress ip = clientInetAddress();
        return ip == null ? "unknown" : ip.getHostAddress();
    }

    private static boolean containsControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < 0x20 || s.charAt(i) == 0x7f) {
                return true;
            }
        }
        return false;
    }
}
