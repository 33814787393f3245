package org.relaymta.core.internal.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.SmtpClientSettings;

/**
 * One mail transaction on an open session as a state machine on the event loop: MAIL, RCPT...,
 * DATA (one pipelined write when the server offers PIPELINING, else one command at a time), the
 * content, the final reply. Each step handles one reply; each wait has its Postfix timeout
 * ({@code smtp_mail_timeout}, {@code smtp_rcpt_timeout}, {@code smtp_data_init_timeout}, then
 * {@code smtp_data_xfer_timeout} and {@code smtp_data_done_timeout}). Ends with what became of
 * each recipient and whether the session is clean for the next message.
 */
final class MailTransaction {

    /** What one session decided. */
    static final class Result {
        final Map<String, DeliveryOutcome> decided = new LinkedHashMap<>();
        final Map<String, Failure> deferred = new LinkedHashMap<>();
        Failure sessionFailure;
        /** The session is at a clean state (no transaction open) and may be cached. */
        boolean reusable;
        /** A cached session turned out to be closed before anything was decided: open a new one. */
        boolean stale;
    }

    private final OpenSession session;
    private final SmtpConnection conn;
    private final DeliveryRequest request;
    private final List<String> recipients;
    private final SmtpClientSettings timeouts;
    private final long requestStarted;
    private final boolean reused;
    private final String hostIp;
    private final String relay;
    private final Result result = new Result();
    private final CompletableFuture<Result> done = new CompletableFuture<>();
    private final List<String> accepted = new ArrayList<>();
    private boolean anyReply;
    private double setupSeconds;
    private long transmitStart;

    /**
     * @param requestStarted  when the delivery request started (System.nanoTime), for the delays
     * @param reused          the session came from the cache (an early close means it went stale)
     */
    MailTransaction(OpenSession session, Target target, DeliveryRequest request, Collection<String> recipients,
                    long requestStarted, boolean reused) {
        this.session = session;
        this.conn = session.connection();
        this.request = request;
        this.recipients = List.copyOf(recipients);
        this.timeouts = request.config().delivery().smtp();
        this.requestStarted = requestStarted;
        this.reused = reused;
        this.hostIp = target.hostName() + "[" + target.address().getHostAddress() + "]";
        this.relay = target.relay();
    }

    CompletableFuture<Result> run() {
        if (conn.eventLoop().inEventLoop()) {
            start();
        } else {
            conn.eventLoop().execute(this::start);
        }
        return done;
    }

    private interface Step {
        void on(SmtpReply reply);
    }

    private void then(CompletableFuture<SmtpReply> reply, Step next) {
        reply.whenComplete((r, e) -> {
            if (e != null) {
                failed(SmtpConnection.unwrap(e));
                return;
            }
            anyReply = true;
            try {
                next.on(r);
            } catch (RuntimeException ex) {
                failed(ex);
            }
        });
    }

    private void start() {
        Capabilities caps = session.capabilities();
        if (caps.sizeLimit() > 0 && request.size() > caps.sizeLimit()) {
            decideAll(new Failure("5.3.4", "message size " + request.size() + " exceeds size limit " + caps.sizeLimit()
                    + " of server " + hostIp, relay), recipients);
            finish(true);
            return;
        }
        boolean needsUtf8 = !isAscii(request.sender()) || recipients.stream().anyMatch(r -> !isAscii(r));
        if (needsUtf8 && !caps.has("SMTPUTF8")) {
            decideAll(new Failure("5.6.7", "SMTPUTF8 is required, but was not offered by host " + hostIp, relay), recipients);
            finish(true);
            return;
        }
        if (request.eightBit() && !caps.has("8BITMIME")) {
            // RFC 6152: never send 8-bit content undeclared. Another host may support it; else retry later.
            result.sessionFailure = new Failure("4.6.3", "8-bit message content, but host " + hostIp
                    + " does not announce 8BITMIME support and conversion is not supported", relay);
            finish(true);
            return;
        }
        String mail = mailCommand(caps, needsUtf8);
        if (caps.has("PIPELINING")) {
            List<String> batch = new ArrayList<>(recipients.size() + 2);
            batch.add(mail);
            for (String rcpt : recipients) {
                batch.add("RCPT TO:<" + rcpt + ">");
            }
            batch.add("DATA");
            List<CompletableFuture<SmtpReply>> replies = conn.pipeline(batch);
            // Each reply's timer starts when the one before it has arrived, as Postfix reads them.
            then(conn.within(replies.get(0), timeouts.mailTimeout(), "MAIL FROM"), reply -> {
                List<SmtpReply> rcptReplies = new ArrayList<>(recipients.size());
                pipelinedRcpt(replies, rcptReplies, reply);
            });
        } else {
            then(conn.command(mail, timeouts.mailTimeout()), reply -> {
                if (reply.positive()) {
                    rcptOneByOne(reply, new ArrayList<>());
                } else {
                    mailRefused(reply, null);
                }
            });
        }
    }

    private void pipelinedRcpt(List<CompletableFuture<SmtpReply>> replies, List<SmtpReply> rcptReplies, SmtpReply mail) {
        int i = rcptReplies.size();
        if (i < recipients.size()) {
            then(conn.within(replies.get(i + 1), timeouts.rcptTimeout(), "RCPT TO"), r -> {
                rcptReplies.add(r);
                pipelinedRcpt(replies, rcptReplies, mail);
            });
            return;
        }
        then(conn.within(replies.get(replies.size() - 1), timeouts.dataInitTimeout(), "DATA"), data -> {
            if (!mail.positive()) {
                mailRefused(mail, data);
            } else {
                recipientsAnswered(rcptReplies, data);
            }
        });
    }

    private void rcptOneByOne(SmtpReply mail, List<SmtpReply> rcptReplies) {
        int i = rcptReplies.size();
        if (i < recipients.size()) {
            then(conn.command("RCPT TO:<" + recipients.get(i) + ">", timeouts.rcptTimeout()), r -> {
                rcptReplies.add(r);
                rcptOneByOne(mail, rcptReplies);
            });
            return;
        }
        recipientsAnswered(rcptReplies, null);
    }

    private void mailRefused(SmtpReply mail, SmtpReply data) {
        Failure f = new Failure(mail.enhancedStatus(), "host " + hostIp + " said: " + mail.oneLine()
                + " (in reply to MAIL FROM command)", relay);
        if (f.permanent()) {
            decideAll(f, recipients);
        } else {
            result.sessionFailure = f;
        }
        endRejectedData(data);
    }

    /** {@code data}: the reply to a pipelined DATA, or null when DATA was not sent yet. */
    private void recipientsAnswered(List<SmtpReply> rcptReplies, SmtpReply data) {
        for (int i = 0; i < recipients.size(); i++) {
            String rcpt = recipients.get(i);
            SmtpReply r = rcptReplies.get(i);
            if (r.positive()) {
                accepted.add(rcpt);
                continue;
            }
            decideAll(new Failure(r.enhancedStatus(), "host " + hostIp + " said: " + r.oneLine()
                    + " (in reply to RCPT TO command)", relay), List.of(rcpt));
        }
        if (accepted.isEmpty()) {
            if (data == null) {
                then(conn.command("RSET", timeouts.mailTimeout()), r -> finish(true));
            } else {
                endRejectedData(data);
            }
            return;
        }
        setupSeconds = seconds(requestStarted);
        transmitStart = System.nanoTime();
        if (data == null) {
            then(conn.command("DATA", timeouts.dataInitTimeout()), this::dataAnswered);
        } else {
            dataAnswered(data);
        }
    }

    /**
     * After a pipelined DATA that the server accepted although it refused the sender or every
     * recipient (RFC 2920 3.1), the transaction is ended with an empty message.
     */
    private void endRejectedData(SmtpReply data) {
        if (data == null || data.code() != 354) {
            finish(true);
            return;
        }
        then(conn.sendContent(InputStream.nullInputStream(), 0, timeouts.dataXferTimeout(), timeouts.dataDoneTimeout()),
                r -> finish(true));
    }

    private void dataAnswered(SmtpReply data) {
        if (data.code() != 354) {
            decideAll(new Failure(data.enhancedStatus(), "host " + hostIp + " said: " + data.oneLine()
                    + " (in reply to DATA command)", relay), accepted);
            finish(true);
            return;
        }
        InputStream content;
        try {
            content = request.content().open();
        } catch (IOException e) {
            result.sessionFailure = new Failure("4.3.0", "cannot read queued message: " + e.getMessage(), relay);
            finish(false);
            return;
        }
        CompletableFuture<SmtpReply> sent = conn.sendContent(content, timeouts.lineLengthLimit(), timeouts.dataXferTimeout(),
                timeouts.dataDoneTimeout());
        sent.whenComplete((r, e) -> {
            try {
                content.close();
            } catch (IOException ignored) {
                // a read-only spool stream
            }
        });
        then(sent, this::contentAnswered);
    }

    private void contentAnswered(SmtpReply reply) {
        double transmit = seconds(transmitStart);
        if (reply.positive()) {
            for (String rcpt : accepted) {
                result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.SENT, reply.enhancedStatus(),
                        reply.oneLine(), relay, session.tls(), setupSeconds, transmit));
            }
        } else {
            decideAll(new Failure(reply.enhancedStatus(), "host " + hostIp + " said: " + reply.oneLine()
                    + " (in reply to end of DATA command)", relay), accepted);
        }
        finish(true);
    }

    private void failed(Throwable cause) {
        if (cause instanceof SmtpSessionException s) {
            if (reused && !anyReply && s.kind() != SmtpSessionException.Kind.TIMEOUT) {
                // The server closed the cached session while it was idle: nothing was decided.
                result.stale = true;
            } else {
                result.sessionFailure = Failure.of(s, "4.4.2", relay);
            }
        } else {
            result.sessionFailure = new Failure("4.3.0", "local error in session with " + hostIp + ": " + cause, relay);
        }
        finish(false);
    }

    private void finish(boolean clean) {
        result.reusable = clean && conn.open();
        if (!result.reusable) {
            conn.close();
        }
        done.complete(result);
    }

    /** Permanent failures bounce the recipients now; temporary ones leave them for another server or later. */
    private void decideAll(Failure f, List<String> rcpts) {
        double setup = setupSeconds > 0 ? setupSeconds : seconds(requestStarted);
        double transmit = transmitStart > 0 ? seconds(transmitStart) : 0;
        for (String rcpt : rcpts) {
            if (f.permanent()) {
                result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, f.dsn(), f.reason(),
                        f.relay(), session.tls(), setup, transmit));
            } else {
                result.deferred.put(rcpt, f);
            }
        }
    }

    private String mailCommand(Capabilities caps, boolean needsUtf8) {
        StringBuilder mail = new StringBuilder("MAIL FROM:<").append(request.sender()).append('>');
        if (caps.has("SIZE")) {
            mail.append(" SIZE=").append(request.size());
        }
        if (request.eightBit()) {
            mail.append(" BODY=8BITMIME");
        }
        if (needsUtf8) {
            mail.append(" SMTPUTF8");
        }
        if (request.requireTls() && caps.has("REQUIRETLS")) {
            mail.append(" REQUIRETLS");
        }
        return mail.toString();
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }

    static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
