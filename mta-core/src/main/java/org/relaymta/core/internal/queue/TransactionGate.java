package org.relaymta.core.internal.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.core.internal.delivery.SendGate;
import org.relaymta.core.internal.delivery.Target;
import org.relaymta.core.internal.quota.QuotaDelay;
import org.relaymta.core.internal.quota.Quotas;
import org.relaymta.core.internal.shaping.ShapingAction;
import org.relaymta.core.internal.shaping.Shaper;

/**
 * One transaction's gate at the moment its session is ready for {@code MAIL FROM}: a shaping
 * suspension of the server it reached holds it; otherwise its rate quotas (relay-limits.cf, and the
 * throttles in force for that server) are counted now. A slot within {@link Quotas#SEND_WAIT} is
 * waited for on the session; a later one holds the mail until then (no backoff: as a quota hold).
 */
final class TransactionGate implements SendGate {
    private final Transaction tx;
    private final List<RelayLimits.Limit> configured;
    private final Quotas quotas;
    private final Shaper shaper;
    private final Clock clock;
    private volatile boolean passed;
    private volatile QuotaDelay held;

    TransactionGate(Transaction tx, List<RelayLimits.Limit> configured, Quotas quotas, Shaper shaper, Clock clock) {
        this.tx = tx;
        this.configured = configured;
        this.quotas = quotas;
        this.shaper = shaper;
        this.clock = clock;
    }

    /** Why and until when the transaction was held at its session, or null. */
    QuotaDelay held() {
        return held;
    }

    /** A shaping suspension as the hold it puts on mail to its destination (before connecting, or at the session). */
    static QuotaDelay suspended(ShapingAction a) {
        return new QuotaDelay(a.until(), a.destination(), "suspended by relay-shaping.cf rule " + a.rule());
    }

    @Override
    public boolean pacing(String host, NextHop hop, String dsn, String reason) {
        return shaper.paces(host, tx.route().direct() ? null : hop.asWritten(), dsn, reason);
    }

    @Override
    public CompletableFuture<Pass> ready(NextHop hop, Target target) {
        if (passed) {
            return CompletableFuture.completedFuture(Pass.go());
        }
        String host = target.hostName();
        String written = tx.route().direct() ? null : hop.asWritten();
        if (tx.route().direct()) {
            shaper.learn(tx.route().directDomain().orElse(null), host);
        }
        var suspended = shaper.suspension(host, written);
        if (suspended.isPresent()) {
            ShapingAction a = suspended.get();
            held = suspended(a);
            return CompletableFuture.completedFuture(Pass.hold("4.7.0", held.reason()));
        }
        List<RelayLimits.Limit> limits = configured;
        List<RelayLimits.Limit> shaped = shaper.limits(host, written);
        if (!shaped.isEmpty()) {
            limits = new ArrayList<>(configured);
            limits.addAll(shaped);
        }
        if (limits.isEmpty()) {
            passed = true;
            return CompletableFuture.completedFuture(Pass.go());
        }
        return quotas.admit(limits, tx.recipients().size(), Quotas.Phase.SEND).thenApply(admission -> {
            if (admission.delay().isEmpty()) {
                passed = true;
                return Pass.go();
            }
            QuotaDelay d = admission.delay().get();
            Duration wait = Duration.between(clock.instant(), d.until());
            if (wait.compareTo(Quotas.SEND_WAIT) <= 0) {
                return Pass.waitFor(wait.isNegative() ? Duration.ZERO : wait);
            }
            held = d;
            return Pass.hold("4.7.0", d.reason());
        });
    }
}
