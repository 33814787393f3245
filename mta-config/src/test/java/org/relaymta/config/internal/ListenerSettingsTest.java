package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListenerSettingsTest {
    @TempDir
    Path dir;

    private ListenerSettings load(String... mainCf) throws IOException {
        Files.write(dir.resolve("postfix-main.cf"), List.of(mainCf));
        return new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[relay.test]:25")), dir).load().listener();
    }

    @Test
    void postfixDefaultsForStressOvershootAndRates() throws IOException {
        ListenerSettings d = load();
        assertThat(d.timeout(false)).isEqualTo(Duration.ofSeconds(300));
        assertThat(d.timeout(true)).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.recipientOvershootLimit()).isEqualTo(1000);
        assertThat(d.clientConnectionRateLimit()).isZero();
        assertThat(d.rateTimeUnit()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void smtpdTimeoutTakesPostfixsStressSyntax() throws IOException {
        ListenerSettings s = load("smtpd_timeout = ${stress?{5}:{120}}s", "smtpd_client_connection_rate_limit = 30",
                "anvil_rate_time_unit = 2m", "smtpd_recipient_overshoot_limit = 10");
        assertThat(s.timeout(false)).isEqualTo(Duration.ofSeconds(120));
        assertThat(s.timeout(true)).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.clientConnectionRateLimit()).isEqualTo(30);
        assertThat(s.rateTimeUnit()).isEqualTo(Duration.ofMinutes(2));
        assertThat(s.recipientOvershootLimit()).isEqualTo(10);
        assertThat(load("smtpd_timeout = 60").timeout(true)).as("a plain value: the stress default when shorter")
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(load("smtpd_timeout = 5").timeout(true)).isEqualTo(Duration.ofSeconds(5));
        assertThatThrownBy(() -> load("smtpd_timeout = ${stress?{x}:{300}}")).hasMessageContaining("postfix-main.cf:1");
    }
}
