package org.relaymta.core.internal.tlsrpt;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * Destinations under DANE or MTA-STS whose sessions have all failed for a while ({@code /health}
 * warns after {@link #WARN_AFTER}): mail to them waits in the queue, and an operator should know
 * before it expires. A success clears the destination.
 */
public final class TlsPolicyHealth implements Consumer<TlsSessionResult> {
    static final Duration WARN_AFTER = Duration.ofHours(1);

    private record Failing(String policy, Instant since, String lastResult) {
    }

    private final Clock clock;
    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    public TlsPolicyHealth(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void accept(TlsSessionResult r) {
        String type = r.policy().type();
        if (!type.equals("sts") && !type.equals("tlsa")) {
            return;
        }
        String domain = r.policy().domain();
        if (r.success()) {
            failing.remove(domain);
        } else {
            Instant now = clock.instant();
            failing.compute(domain, (d, f) -> new Failing(type, f == null ? now : f.since(), r.result()));
        }
    }

    /** One line per destination failing for longer than an hour. */
    public List<String> warnings() {
        Instant now = clock.instant();
        List<String> out = new ArrayList<>();
        new TreeMap<>(failing).forEach((domain, f) -> {
            Duration d = Duration.between(f.since(), now);
            if (d.compareTo(WARN_AFTER) >= 0) {
                out.add("TLS policy (" + (f.policy().equals("sts") ? "MTA-STS" : "DANE") + ") of " + domain
                        + ": every session has failed for " + d.toMinutes() + " min (last: " + f.lastResult() + ")");
            }
        });
        return out;
    }
}
