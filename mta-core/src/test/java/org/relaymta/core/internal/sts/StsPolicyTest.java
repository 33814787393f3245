package org.relaymta.core.internal.sts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StsPolicyTest {
    private static final Instant T0 = Instant.parse("2026-12-01T00:00:00Z");

    @Test
    void parsesTheRfcExampleWithLfOrCrlfAndIgnoresUnknownFields() {
        StsPolicy p = StsPolicy.parse("abc", "version: STSv1\nmode: enforce\nmx: mail.example.com\r\nmx: *.example.net\n"
                + "mx: backupmx.example.com\nmax_age: 604800\nextension: whatever\n", T0);
        assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE);
        assertThat(p.mx()).containsExactly("mail.example.com", "*.example.net", "backupmx.example.com");
        assertThat(p.maxAge()).isEqualTo(Duration.ofDays(7));
        assertThat(p.lines()).hasSize(7);
    }

    @Test
    void wildcardsMatchExactlyOneLabel() {
        StsPolicy p = StsPolicy.parse("1", "version: STSv1\nmode: testing\nmx: *.example.net\nmx: mail.example.com.\nmax_age: 60\n", T0);
        assertThat(p.matches("mx1.example.net")).isTrue();
        assertThat(p.matches("MX1.Example.NET.")).isTrue();
        assertThat(p.matches("a.b.example.net")).isFalse();
        assertThat(p.matches("example.net")).isFalse();
        assertThat(p.matches("mail.example.com")).isTrue();
        assertThat(p.matches("mail.example.com.evil.test")).isFalse();
    }

    @Test
    void expiresAfterMaxAge() {
        StsPolicy p = StsPolicy.parse("1", "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 60\n", T0);
        assertThat(p.expired(T0.plusSeconds(59))).isFalse();
        assertThat(p.expired(T0.plusSeconds(60))).isTrue();
    }

    @Test
    void refusesWhatIsNotAPolicy() {
        for (List<String> c : List.of(
                List.of("mode: enforce\nmx: a.test\nmax_age: 1\n", "no version field"),
                List.of("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", "is not STSv1"),
                List.of("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", "is not enforce, testing or none"),
                List.of("version: STSv1\nmode: enforce\nmx: a.test\n", "no max_age"),
                List.of("version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"),
                List.of("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999999\n", "max_age"),
                List.of("version: STSv1\nmode: enforce\nmx: a b.test\nmax_age: 1\n", "is not a host name"),
                List.of("<html>hello</html>\n", "is not 'key: value'"))) {
            assertThatThrownBy(() -> StsPolicy.parse("1", c.get(0), T0)).as(c.get(0)).hasMessageContaining(c.get(1));
        }
        assertThat(StsPolicy.parse("1", "version: STSv1\nmode: none\nmax_age: 1\n", T0).mode()).isEqualTo(StsPolicy.Mode.NONE);
    }

    @Test
    void theTxtRecordIdIsTakenFromTheOneStsRecord() {
        assertThat(MtaSts.stsId(List.of("v=STSv1; id=20160831085700Z;"))).contains("20160831085700Z");
        assertThat(MtaSts.stsId(List.of("v=spf1 -all", "v=STSv1;id=abc"))).contains("abc");
        assertThat(MtaSts.stsId(List.of("v=STSv1; id=a", "v=STSv1; id=b"))).isEmpty();
        assertThat(MtaSts.stsId(List.of("v=STSv1; id=not-alnum"))).isEmpty();
        assertThat(MtaSts.stsId(List.of())).isEmpty();
    }
}
