package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** relay-limits.cf: settings, presets with their documented values, keys that apply, and errors with file and line. */
class RelayLimitsTest {
    @TempDir
    Path dir;

    @Test
    void presetsExpandToTheirDocumentedValuesAndExplicitSettingsOverride() {
        RelayLimits.Limit m365 = RelayLimits.parse("account:boss@example.com", "preset=m365, messages=10/m", "relay-limits.cf:1");
        assertThat(m365.messages().count()).isEqualTo(10);
        assertThat(m365.messages().period()).isEqualTo(Duration.ofMinutes(1));
        assertThat(m365.recipients().count()).isEqualTo(10_000);
        assertThat(m365.recipients().period()).isEqualTo(Duration.ofDays(1));
        assertThat(m365.recipientsPerMessage()).isEqualTo(500);
        RelayLimits.Limit ses = RelayLimits.parse("*", "preset=ses", "x");
        assertThat(ses.messages().count()).isEqualTo(14);
        assertThat(ses.messages().interval()).isEqualTo(Duration.ofSeconds(1).dividedBy(14));
        assertThat(RelayLimits.parse("*", "preset=workspace", "x").messages().count()).isEqualTo(2000);
        assertThat(RelayLimits.parse("*", "preset=workspace", "x").recipientsPerMessage()).isEqualTo(100);
        assertThat(RelayLimits.parse("*", "preset=gmail, concurrency=2", "x").concurrency()).isEqualTo(2);
    }

    @Test
    void everyApplicableKeyIsFoundAndErrorsNameTheLine() throws Exception {
        Files.writeString(dir.resolve("relay-limits.cf"), "* messages=100/s\n[email-smtp.eu-west-1.amazonaws.com]:587 preset=ses\n"
                + "account:AKIAEXAMPLE recipients=50000/d\n");
        RelayLimits limits = RelayLimits.load(dir);
        assertThat(limits.applicable(List.of("[email-smtp.eu-west-1.amazonaws.com]:587"), "akiaexample"))
                .extracting(RelayLimits.Limit::key).containsExactly("*", "[email-smtp.eu-west-1.amazonaws.com]:587", "account:AKIAEXAMPLE");
        assertThat(limits.applicable(List.of("[other]:25"), null)).extracting(RelayLimits.Limit::key).containsExactly("*");
        Files.writeString(dir.resolve("relay-limits.cf"), "* messages=5/s\n[a]:25 messages=5/week\n");
        assertThatThrownBy(() -> RelayLimits.load(dir)).hasMessageContaining("relay-limits.cf:2").hasMessageContaining("unit is s, m, h or d");
        Files.writeString(dir.resolve("relay-limits.cf"), "* preset=yahoo\n");
        assertThatThrownBy(() -> RelayLimits.load(dir)).hasMessageContaining("unknown preset 'yahoo'");
        Files.writeString(dir.resolve("relay-limits.cf"), "* speed=5\n");
        assertThatThrownBy(() -> RelayLimits.load(dir)).hasMessageContaining("unknown setting 'speed'");
        Files.writeString(dir.resolve("relay-limits.cf"), "* concurrency=0\n");
        assertThatThrownBy(() -> RelayLimits.load(dir)).hasMessageContaining("'0' is not a positive number");
    }

    @Test
    void aWarmupScheduleGivesEachDaysVolumeAndEndsAfterItsLastStep() {
        RelayLimits.Limit l = RelayLimits.parse("account:news@example.com", "warmup=50;100;500, warmup_start=2026-12-07",
                "relay-limits.cf:3");
        assertThat(l.warmup().volumeOn(java.time.LocalDate.parse("2026-12-06"))).hasValue(50);
        assertThat(l.warmup().volumeOn(java.time.LocalDate.parse("2026-12-07"))).hasValue(50);
        assertThat(l.warmup().volumeOn(java.time.LocalDate.parse("2026-12-08"))).hasValue(100);
        assertThat(l.warmup().volumeOn(java.time.LocalDate.parse("2026-12-09"))).hasValue(500);
        assertThat(l.warmup().volumeOn(java.time.LocalDate.parse("2026-12-10"))).isEmpty();
        assertThatThrownBy(() -> RelayLimits.parse("*", "warmup=50;100", "relay-limits.cf:4"))
                .hasMessageContaining("relay-limits.cf:4").hasMessageContaining("warmup_start=YYYY-MM-DD");
        assertThatThrownBy(() -> RelayLimits.parse("*", "warmup=50;x, warmup_start=2026-12-07", "relay-limits.cf:5"))
                .hasMessageContaining("relay-limits.cf:5").hasMessageContaining("'x' is not a positive number");
        assertThatThrownBy(() -> RelayLimits.parse("*", "warmup=50, warmup_start=7.12.2026", "relay-limits.cf:6"))
                .hasMessageContaining("is not a date");
    }
}
