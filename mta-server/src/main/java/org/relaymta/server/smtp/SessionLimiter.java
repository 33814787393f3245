package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.relaymta.config.internal.ListenerSettings;
import org.relaymta.config.internal.RelayConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Session limits shared by all listeners, as Postfix's anvil and master keep them: sessions in
 * all ({@code default_process_limit}); per client address, sessions at once ({@code
 * smtpd_client_connection_count_limit}) and new sessions per {@code anvil_rate_time_unit} ({@code
 * smtpd_client_connection_rate_limit}), with clients in {@code mynetworks} exempt, as Postfix's
 * {@code smtpd_client_event_limit_exceptions} default makes them. Over a limit the client gets
 * {@code 421 4.7.0} and the connection is closed. At 80% of the total the listener is under
 * stress: sessions then get the short stress timeout, so idle sessions make room.
 */
final class SessionLimiter {
    private static final Logger log = LoggerFactory.getLogger("org.relaymta.smtpd");
    private static final int MAX_TRACKED = 10_000;

    private final Supplier<RelayConfig> config;
    private final Clock clock;
    private final Map<InetAddress, Integer> perClient = new HashMap<>();
    private final Map<InetAddress, Deque<Long>> recentConnects = new HashMap<>();
    private int total;
    /** When sessions were last at the stress mark (clock millis), or never. */
    private long stressSeenMillis = Long.MIN_VALUE / 2;
    /** Stress lasts this long after sessions drop under the mark, as a Postfix smtpd started under stress keeps it. */
    static final long STRESS_HOLD_MILLIS = 60_000;

    SessionLimiter(Supplier<RelayConfig> config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /** Admits a new session, or returns the refusal to send before closing it. */
    synchronized String admit(InetAddress client) {
        RelayConfig cfg = config.get();
        ListenerSettings limits = cfg.listener();
        if (total >= limits.sessionLimit()) {
            log.warn("connection from unknown[{}] refused: {} sessions in all (default_process_limit)",
                    client.getHostAddress(), total);
            return "421 4.7.0 " + cfg.myhostname() + " Error: too many connections";
        }
        boolean exempt = cfg.listener().mynetworks().contains(client);
        if (!exempt) {
            int count = perClient.getOrDefault(client, 0);
            if (limits.clientConnectionLimit() > 0 && count >= limits.clientConnectionLimit()) {
                log.warn("Connection concurrency limit exceeded: {} from unknown[{}]", count + 1, client.getHostAddress());
                return "421 4.7.0 " + cfg.myhostname() + " Error: too many connections from " + client.getHostAddress();
            }
            if (limits.clientConnectionRateLimit() > 0) {
                int rate = connected(client, limits.rateTimeUnit().toMillis());
                if (rate > limits.clientConnectionRateLimit()) {
                    log.warn("Connection rate limit exceeded: {} from unknown[{}]", rate, client.getHostAddress());
                    return "421 4.7.0 " + cfg.myhostname() + " Error: too many connections from " + client.getHostAddress();
                }
            }
        }
        perClient.merge(client, 1, Integer::sum);
        total++;
        underStress();
        return null;
    }

    /** Records a connection attempt; returns how many the client made within the time unit, this one included. */
    private int connected(InetAddress client, long unitMillis) {
        long now = clock.millis();
        if (recentConnects.size() >= MAX_TRACKED && !recentConnects.containsKey(client)) {
            recentConnects.values().removeIf(d -> d.isEmpty() || now - d.peekLast() >= unitMillis);
            if (recentConnects.size() >= MAX_TRACKED) {
                recentConnects.remove(recentConnects.keySet().iterator().next());
            }
        }
        Deque<Long> times = recentConnects.computeIfAbsent(client, k -> new ArrayDeque<>());
        while (!times.isEmpty() && now - times.peekFirst() >= unitMillis) {
            times.pollFirst();
        }
        times.addLast(now);
        return times.size();
    }

    /** Ends an admitted session. */
    synchronized void release(InetAddress client) {
        total--;
        perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }

    /**
     * Sessions at 80% of {@code default_process_limit} or more, now or within the last minute:
     * Postfix's stress mode. The minute keeps a flood of idle sessions draining instead of stopping
     * just under the mark.
     */
    synchronized boolean underStress() {
        long now = clock.millis();
        if (total * 5 >= config.get().listener().sessionLimit() * 4) {
            stressSeenMillis = now;
            return true;
        }
        return now - stressSeenMillis < STRESS_HOLD_MILLIS;
    }

    synchronized int sessions() {
        return total;
    }
}
