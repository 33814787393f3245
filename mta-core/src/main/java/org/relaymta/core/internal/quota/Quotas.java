package org.relaymta.core.internal.quota;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.RelayLimits;

/**
 * Provider quotas ({@code relay-limits.cf}), counted on this node ({@link LocalQuotas}) or in Redis
 * for all nodes ({@link SharedQuotas}). Asking never fails: a quota that cannot be counted where
 * it should be is counted locally instead.
 */
public interface Quotas {
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
     * Admits a transaction of {@code recipients} under every one of {@code limits}, or says until
     * when it waits. The future may complete on another thread (a Redis reply).
     */
    CompletableFuture<Admission> admit(List<RelayLimits.Limit> limits, int recipients);
}
