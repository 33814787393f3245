package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.metrics.RelayMetrics;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Session limits shared by all listeners: per client address
 * ({@code smtpd_client_connection_count_limit}) and in all ({@code default_process_limit}).
 * Over a limit the client gets {@code 421 4.7.0} and the connection is closed.
 */
final class SessionLimiter implements SessionHandler {
    private final Supplier<RelayConfig> config;
    private final RelayMetrics metrics;
    private final Map<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final Map<Session, InetAddress> accepted = new ConcurrentHashMap<>();
    private final Map<Session, AtomicInteger> errors = new ConcurrentHashMap<>();

    SessionLimiter(Supplier<RelayConfig> config, RelayMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    @Override
    public SessionAcceptance accept(Session session) {
        InetAddress client = session.getRealRemoteAddress().getAddress();
        RelayConfig cfg = config.get();
        if (total.incrementAndGet() > cfg.listener().sessionLimit()) {
            total.decrementAndGet();
            return SessionAcceptance.failure(421, "4.7.0 " + cfg.myhostname() + " Error: too many connections");
        }
        AtomicInteger count = perClient.computeIfAbsent(client, k -> new AtomicInteger());
        if (count.incrementAndGet() > cfg.listener().clientConnectionLimit()) {
            count.decrementAndGet();
            total.decrementAndGet();
            return SessionAcceptance.failure(421, "4.7.0 " + cfg.myhostname() + " Error: too many connections from "
                    + client.getHostAddress());
        }
        accepted.put(session, client);
        metrics.inboundSession(false);
        return SessionAcceptance.success();
    }

    /** Counts a refused command of the session; true once it reached {@code smtpd_hard_error_limit}. */
    boolean tooManyErrors(Session session) {
        int n = errors.computeIfAbsent(session, k -> new AtomicInteger()).incrementAndGet();
        return n >= config.get().listener().hardErrorLimit();
    }

    @Override
    public void onSessionEnd(Session session) {
        errors.remove(session);
        InetAddress client = accepted.remove(session);
        if (client == null) {
            return;
        }
        total.decrementAndGet();
        AtomicInteger count = perClient.get(client);
        if (count != null && count.decrementAndGet() <= 0) {
            perClient.remove(client, count);
        }
        if (session.isTLSStarted()) {
            metrics.inboundTls();
        }
    }
}
