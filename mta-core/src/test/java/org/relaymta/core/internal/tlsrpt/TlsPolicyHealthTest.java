package org.relaymta.core.internal.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.relaymta.testing.MovedClock;

class TlsPolicyHealthTest {
    private final MovedClock clock = new MovedClock();
    private final TlsPolicyHealth health = new TlsPolicyHealth(clock);

    private static TlsSessionResult result(String type, String domain, String result) {
        return new TlsSessionResult(new ReportPolicy(type, domain, List.of(), List.of(), Optional.empty()), "mx." + domain,
                "127.0.0.1", "192.0.2.1", result, "");
    }

    @Test
    void aDaneOrStsDestinationFailingForAnHourIsWarnedAboutUntilASuccess() {
        health.accept(result("tlsa", "dane.test", "tlsa-invalid"));
        health.accept(result("sts", "sts.test", "certificate-expired"));
        health.accept(result("no-policy-found", "plain.test", "starttls-not-supported"));
        clock.advance(Duration.ofMinutes(59));
        assertThat(health.warnings()).isEmpty();
        health.accept(result("tlsa", "dane.test", "dnssec-invalid"));
        clock.advance(Duration.ofMinutes(2));
        assertThat(health.warnings()).containsExactly(
                "TLS policy (DANE) of dane.test: every session has failed for 61 min (last: dnssec-invalid)",
                "TLS policy (MTA-STS) of sts.test: every session has failed for 61 min (last: certificate-expired)");
        health.accept(result("sts", "sts.test", "success"));
        assertThat(health.warnings()).hasSize(1).allMatch(w -> w.contains("dane.test"));
    }
}
