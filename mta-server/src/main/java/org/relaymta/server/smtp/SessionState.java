package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.internal.RelayConfig;

/**
 * What one inbound session knows: who the client is, what it said (HELO, TLS, AUTH) and the mail
 * transaction in progress. Verb handlers and policy hooks read and change it; the I/O lives in
 * {@link SmtpSession}.
 */
final class SessionState {
    private final RelayListener.Mode mode;
    private final RelayConfig config;
    private final InetAddress clientIp;
    private final String client;
    String helo;
    boolean esmtp;
    boolean tls;
    /** The current transaction's MAIL FROM carried REQUIRETLS. */
    boolean requireTls;
    private String authUser;
    private String authMechanism;
    private String sender;
    private final List<String> recipients = new ArrayList<>();
    private int overshoot;

    SessionState(RelayListener.Mode mode, RelayConfig config, InetAddress clientIp, boolean tls) {
        this.mode = mode;
        this.config = config;
        this.clientIp = clientIp;
        this.client = clientIp == null ? "unknown" : clientIp.getHostAddress();
        this.tls = tls;
    }

    RelayListener.Mode mode() {
        return mode;
    }

    /** The configuration snapshot of the session's start. */
    RelayConfig config() {
        return config;
    }

    InetAddress clientIp() {
        return clientIp;
    }

    /** The client's address as text, for logs. */
    String client() {
        return client;
    }

    boolean authRequired() {
        return mode != RelayListener.Mode.RELAY;
    }

    String authUser() {
        return authUser;
    }

    /** The SASL mechanism the client authenticated with (for the log line), or null. */
    String authMechanism() {
        return authMechanism;
    }

    void authenticated(String user, String mechanism) {
        this.authUser = user;
        this.authMechanism = mechanism;
    }

    /** The transaction's sender ("" for {@code <>}), or null outside a transaction. */
    String sender() {
        return sender;
    }

    void startTransaction(String sender) {
        this.sender = sender;
    }

    List<String> recipients() {
        return recipients;
    }

    /** Counts one recipient over the limit in this transaction; returns how many so far. */
    int countOvershoot() {
        return ++overshoot;
    }

    /** The transaction ends (RSET, end of DATA, EHLO, STARTTLS). */
    void resetTransaction() {
        sender = null;
        recipients.clear();
        overshoot = 0;
        requireTls = false;
    }
}
