package org.relaymta.core.internal.delivery;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;

/**
 * Asked once a session is ready for {@code MAIL FROM} (new or cached), before the transaction is
 * sent: the moment a provider counts a message, so the moment its quota is taken. The queue gives
 * each transaction its own gate (quotas, shaping); a gate that let a transaction pass lets it pass
 * again on a later session of the same request.
 */
public interface SendGate {
    /** What the gate says: send now, ask again after a short wait on the same session, or hold the mail. */
    record Pass(Duration delay, String dsn, String reason) {
        private static final Pass GO = new Pass(null, null, null);

        public static Pass go() {
            return GO;
        }

        /** Ask again after {@code wait}, keeping the session. */
        public static Pass waitFor(Duration wait) {
            return new Pass(wait, null, null);
        }

        /** Not now: the session goes back to the cache and the recipients are deferred with this reason. */
        public static Pass hold(String dsn, String reason) {
            return new Pass(null, dsn, reason);
        }

        public boolean sends() {
            return delay == null && reason == null;
        }

        public boolean held() {
            return reason != null;
        }
    }

    SendGate OPEN = (hop, target) -> CompletableFuture.completedFuture(Pass.go());

    /** May complete on another thread; the caller continues on the session's event loop. */
    CompletableFuture<Pass> ready(NextHop hop, Target target);

    /**
     * Whether a refusal from server {@code host} on {@code hop} is a provider asking the relay to
     * slow down (a shaping rule throttles or suspends for it): the server works, so the refusal
     * does not count against the hop's circuit breaker.
     */
    default boolean pacing(String host, NextHop hop, String dsn, String reason) {
        return false;
    }
}
