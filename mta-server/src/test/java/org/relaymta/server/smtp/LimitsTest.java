package org.relaymta.server.smtp;

import org.relaymta.testing.MovedClock;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.RelayConfig;

class LimitsTest {
    @TempDir
    Path dir;
    private final MovedClock clock = new MovedClock();

    @Test
    void perClientCountAndRateMynetworksExemptAndStressAtEightyPercent() throws Exception {
        RelayConfig cfg = ListenerTestConfig.load(dir, "default_process_limit = 10", "smtpd_client_connection_count_limit = 3",
                "smtpd_client_connection_rate_limit = 5", "anvil_rate_time_unit = 60s", "mynetworks = 127.0.0.1/32");
        SessionLimiter limiter = new SessionLimiter(() -> cfg, clock);
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress trusted = InetAddress.getByName("127.0.0.1");
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.admit(a)).isNull();
        }
        assertThat(limiter.admit(a)).isEqualTo("421 4.7.0 " + cfg.myhostname() + " Error: too many connections from 192.0.2.1");
        limiter.release(a);
        assertThat(limiter.admit(a)).as("a slot freed, and the 4th connection of the minute is within the rate").isNull();
        limiter.release(a);
        assertThat(limiter.admit(a)).as("the 5th connection of the minute").isNull();
        limiter.release(a);
        assertThat(limiter.admit(a)).as("the 6th: over the rate").contains("too many connections from 192.0.2.1");
        clock.advance(Duration.ofSeconds(61));
        assertThat(limiter.admit(a)).as("a new minute").isNull();
        assertThat(limiter.sessions()).isEqualTo(3);
        assertThat(limiter.underStress()).isFalse();
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.admit(trusted)).as("mynetworks: no per-client limits").isNull();
        }
        assertThat(limiter.sessions()).isEqualTo(8);
        assertThat(limiter.underStress()).as("8 of 10").isTrue();
        assertThat(limiter.admit(trusted)).isNull();
        assertThat(limiter.admit(trusted)).isNull();
        assertThat(limiter.admit(trusted)).as("the total holds for everyone").isEqualTo(
                "421 4.7.0 " + cfg.myhostname() + " Error: too many connections");
        limiter.release(trusted);
        limiter.release(trusted);
        limiter.release(trusted);
        assertThat(limiter.underStress()).as("7 of 10, but stress was seen within the minute").isTrue();
        clock.advance(Duration.ofMillis(SessionLimiter.STRESS_HOLD_MILLIS));
        assertThat(limiter.underStress()).as("7 of 10 for a minute").isFalse();
    }

    @Test
    void authFailuresAreBudgetedPerAddressOverAllSessionsAndExpire() throws Exception {
        AuthFailureBudget budget = new AuthFailureBudget(clock);
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress b = InetAddress.getByName("192.0.2.2");
        int begun = 0;
        for (int i = 0; i < 48; i++) {
            if (budget.begin(a)) {
                begun++;
            }
        }
        assertThat(begun).as("48 parallel attempts: checks in progress count").isEqualTo(AuthFailureBudget.LIMIT);
        for (int i = 0; i < begun; i++) {
            budget.failed(a);
        }
        assertThat(budget.mayTry(a)).isFalse();
        assertThat(budget.mayTry(b)).as("another address is not affected").isTrue();
        clock.advance(AuthFailureBudget.WINDOW.minusSeconds(1));
        assertThat(budget.mayTry(a)).isFalse();
        clock.advance(Duration.ofSeconds(2));
        assertThat(budget.mayTry(a)).as("the window passed").isTrue();
        assertThat(budget.clients()).as("expired entries are gone").isZero();
        assertThat(budget.begin(a)).isTrue();
        budget.failed(a);
        assertThat(budget.begin(a)).isTrue();
        budget.succeeded(a);
        assertThat(budget.failuresOf(a)).as("a success forgets the failures").isZero();
    }
}
