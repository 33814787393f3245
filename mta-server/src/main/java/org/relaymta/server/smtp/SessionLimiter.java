package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.metrics.RelayMetrics;

/**
 * Session limits shared by all listeners: per client address
 * ({@code smtpd_client_connection_count_limit}) and in all ({@code default_process_limit}).
 * Over a limit the client gets {@code 421 4.7.0} and the connection is closed.
 */
final class SessionLimiter {
    private final Supplier<RelayConfig> config;
    private final RelayMetrics metrics;
    private final Map<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    SessionLimiter(Supplier<RelayConfig> config, RelayMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    /** Admits a new session, or returns the refusal to send before closing it. */
    String admit(InetAddress client) {
        RelayConfig cfg = config.get();
        if (total.incrementAndGet() > cfg.listener().sessionLimit()) {
            total.decrementAndGet();
            return "421 4.7.0 " + cfg.myhostname() + " Error: too many connections";
        }
        AtomicInteger count = perClient.computeIfAbsent(client, k -> new AtomicInteger());
        if (count.incrementAndGet() > cfg.listener().clientConnectionLimit()) {
            release(client);
            return "421 4.7.0 " + cfg.myhostname() + " Error: too many connections from " + client.getHostAddress();
        }
        metrics.inboundSession(false);
        return null;
    }

    /** Ends an admitted session. */
    void release(InetAddress client) {
        total.decrementAndGet();
        AtomicInteger count = perClient.get(client);
        if (count != null && count.decrementAndGet() <= 0) {
            perClient.remove(client, count);
        }
    }
}
