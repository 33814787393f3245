package org.relaymta.core.internal.suppress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.MovedClock;

/** The suppression list on disk: kept across restarts, expiring, compacted, and refusing what is no address. */
class LocalSuppressionsTest {
    @TempDir
    Path spool;

    @Test
    void entriesSurviveARestartExpireAndTheLogIsCompacted() throws Exception {
        MovedClock clock = new MovedClock();
        LocalSuppressions list = LocalSuppressions.open(spool, clock, () -> Duration.ofDays(90));
        list.add("A@Ext.test", "invalid-recipient");
        list.add("b@ext.test", "operator");
        list.add("c@ext.test", "operator");
        assertThat(list.remove("C@ext.test")).isTrue();
        assertThat(list.remove("c@ext.test")).isFalse();

        LocalSuppressions reopened = LocalSuppressions.open(spool, clock, () -> Duration.ofDays(90));
        assertThat(reopened.list()).extracting(s -> s.address()).containsExactly("a@ext.test", "b@ext.test");
        assertThat(reopened.find("a@ext.TEST")).hasValueSatisfying(s -> {
            assertThat(s.reason()).isEqualTo("invalid-recipient");
            assertThat(Duration.between(s.since(), s.expires())).isEqualTo(Duration.ofDays(90));
        });
        assertThat(Files.readAllLines(spool.resolve(LocalSuppressions.FILE))).as("compacted: no removal lines").hasSize(2);

        clock.advance(Duration.ofDays(91));
        assertThat(reopened.find("a@ext.test")).as("expired").isEmpty();
        assertThat(reopened.list()).isEmpty();
    }

    @Test
    void whatIsNoAddressIsRefusedAndABadLineSkipped() throws Exception {
        LocalSuppressions list = LocalSuppressions.open(spool, new MovedClock(), () -> Duration.ofDays(1));
        assertThatThrownBy(() -> list.add("no address", "x")).hasMessageContaining("not an email address");
        assertThatThrownBy(() -> list.add("a@b.test\n+ forged@x.test 0 9999999999 x", "x"))
                .isInstanceOf(IllegalArgumentException.class);
        list.add("ok@ext.test", "line one\nline two");
        Files.writeString(spool.resolve(LocalSuppressions.FILE), "garbage\n", java.nio.file.StandardOpenOption.APPEND);
        LocalSuppressions reopened = LocalSuppressions.open(spool, new MovedClock(), () -> Duration.ofDays(1));
        assertThat(reopened.list()).singleElement().satisfies(s -> assertThat(s.reason()).isEqualTo("line one line two"));
    }
}
