package org.relaymta.core.internal.quota;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.relaymta.config.internal.RelayLimits;

/**
 * Provider quotas ({@code relay-limits.cf}), counted on this node ({@link LocalQuotas}) or in Redis
 * for all nodes ({@link SharedQuotas}). Asking never fails: a quota that cannot be counted where
 * it should be is counted locally instead.
 */
public interface Quotas {
    /**
     * How long a transaction whose session is ready may wait for its rate slot on that session;
     * beyond it the session goes back to the cache and the mail waits in the queue. Also the
     * slack of {@link Phase#RESERVE}: a transaction that will get its slot within this is connected.
     */
    Duration SEND_WAIT = Duration.ofSeconds(10);

    /**
     * When a transaction asks. Rates are counted when the session is ready to send {@code MAIL
     * FROM} ({@link #SEND}), so what the provider sees never exceeds a rate and its burst however
     * long connecting took; concurrency is taken before connecting ({@link #RESERVE}), as it limits
     * sessions.
     */
    enum Phase {
        /** Before connecting: concurrency taken; rates and warm-up only looked at (admitted when the slot is within {@link #SEND_WAIT}). */
        RESERVE,
        /** The session is ready: rates and warm-up counted; concurrency not asked again. */
        SEND,
        /** Both at once (a caller without a session step). */
        BOTH
    }

    /** The answer to one transaction: admitted (counted; {@link #release()} when it ends) or delayed (nothing counted). */
    final class Admission {
        private static final Admission FREE = new Admission(null, () -> { });
        private final QuotaDelay delay;
        private final Runnable release;

        private Admission(QuotaDelay delay, Runnable release) {
            this.delay = delay;
            this.release = release;
        }

        public static Admission admitted(Runnable release) {
            return new Admission(null, release);
        }

        public static Admission delayed(QuotaDelay delay) {
            return new Admission(delay, () -> { });
        }

        /** Admitted without limits: nothing to give back. */
        public static Admission free() {
            return FREE;
        }

        public Optional<QuotaDelay> delay() {
            return Optional.ofNullable(delay);
        }

        /** Gives back the transaction's concurrency (a no-op when delayed); call once, when the transaction ends. */
        public void release() {
            release.run();
        }
    }

    /**
     * Admits a transaction of {@code recipients} under every one of {@code limits} in {@code phase},
     * or says until when it waits. The future may complete on another thread (a Redis reply).
     */
    CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients, Phase phase);

    default CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients) {
        return admit(limits, recipients, Phase.BOTH);
    }

    /**
     * Told the key of every concurrency slot given back (on this node, or shared, on any node), so
     * a transaction waiting for one starts then instead of at a polled time.
     */
    void onFreed(Consumer<String> listener);
}
