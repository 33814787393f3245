package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.testing.MovedClock;

/** The circuit breaker per relay next hop, on a moved clock: opening, cool-downs, probes, and what other nodes say. */
class RelayHealthTest {
    private static final String HOP = "[smtp.provider.test]:587";

    private final MovedClock clock = new MovedClock();
    private final RelayHealth health = new RelayHealth(clock);

    @Test
    void aHopOpensAfterTheThresholdOfConsecutiveFailedSessions() {
        health.failed(HOP, 3);
        health.failed(HOP, 3);
        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.CLOSED);
        assertThat(health.allow(HOP)).isTrue();

        health.failed(HOP, 3);

        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.OPEN);
        assertThat(health.allow(HOP)).isFalse();
        assertThat(health.openUntil(HOP)).isEqualTo(clock.instant().plus(RelayHealth.FIRST_COOL_DOWN));
    }

    @Test
    void aGoodSessionResetsTheCount() {
        health.failed(HOP, 2);
        health.succeeded(HOP);
        health.failed(HOP, 2);

        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.CLOSED);
    }

    @Test
    void afterTheCoolDownOneCallerProbesAndTheOthersWait() {
        health.failed(HOP, 1);
        clock.advance(RelayHealth.FIRST_COOL_DOWN.minusSeconds(1));
        assertThat(health.allow(HOP)).isFalse();

        clock.advance(Duration.ofSeconds(1));

        assertThat(health.allow(HOP)).as("the probe").isTrue();
        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.HALF_OPEN);
        assertThat(health.allow(HOP)).as("no second probe at once").isFalse();
        health.succeeded(HOP);
        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.CLOSED);
        assertThat(health.allow(HOP)).isTrue();
    }

    @Test
    void eachFailedProbeDoublesTheCoolDownUpToFifteenMinutes() {
        health.failed(HOP, 1);
        List<Duration> coolDowns = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            Instant until = health.openUntil(HOP);
            coolDowns.add(Duration.between(clock.instant(), until));
            clock.advance(Duration.between(clock.instant(), until));
            assertThat(health.allow(HOP)).isTrue();
            health.failed(HOP, 5);   // a failed probe opens again whatever the threshold
            assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.OPEN);
        }

        assertThat(coolDowns).containsExactly(Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(4),
                Duration.ofMinutes(8), Duration.ofMinutes(15), Duration.ofMinutes(15), Duration.ofMinutes(15));
    }

    @Test
    void aProbeThatNeverReportsStopsBlockingAfterItsLimit() {
        health.failed(HOP, 1);
        clock.advance(RelayHealth.FIRST_COOL_DOWN);
        assertThat(health.allow(HOP)).isTrue();

        clock.advance(RelayHealth.PROBE_LIMIT);
        assertThat(health.allow(HOP)).isFalse();
        clock.advance(Duration.ofSeconds(1));

        assertThat(health.allow(HOP)).as("a new probe").isTrue();
    }

    @Test
    void hopsAreKeyedCaseInsensitivelyAndAnnouncedOnceWhenFirstSeen() {
        List<String> seen = new ArrayList<>();
        health.onNewHop(seen::add);

        health.failed("[SMTP.Provider.TEST]:587", 1);
        health.allow(HOP);
        health.succeeded("[smtp.provider.test]:587");
        health.allow("[other.test]:25");

        assertThat(seen).containsExactly("[smtp.provider.test]:587", "[other.test]:25");
        assertThat(health.states()).containsOnlyKeys("[other.test]:25", "[smtp.provider.test]:587");
        assertThat(health.state("[never.test]:25")).isEqualTo(RelayHealth.State.CLOSED);
        assertThat(RelayHealth.State.HALF_OPEN.label()).isEqualTo("half-open");
    }

    @Test
    void thisNodesTransitionsAreAnnouncedToOtherNodes() {
        List<String> said = new ArrayList<>();
        health.announceTo(new RelayHealth.Announcer() {
            @Override
            public void opened(String hop, Instant until, int opens) {
                said.add("opened " + hop + " until " + until + " #" + opens);
            }

            @Override
            public void closed(String hop) {
                said.add("closed " + hop);
            }
        });

        health.succeeded(HOP);   // closed already: nothing to say
        health.failed(HOP, 1);
        health.succeeded(HOP);

        assertThat(said).containsExactly("opened [smtp.provider.test]:587 until " + clock.instant().plus(Duration.ofMinutes(1))
                + " #1", "closed [smtp.provider.test]:587");
    }

    @Test
    void anotherNodesOpeningIsHonouredUnlessThisNodeHoldsItLonger() {
        Instant until = clock.instant().plus(Duration.ofMinutes(3));
        health.openedElsewhere(HOP, until, 2);
        assertThat(health.allow(HOP)).isFalse();
        assertThat(health.openUntil(HOP)).isEqualTo(until);

        health.openedElsewhere(HOP, clock.instant().plus(Duration.ofMinutes(1)), 1);
        assertThat(health.openUntil(HOP)).as("the longer opening stays").isEqualTo(until);

        health.openedElsewhere("[gone.test]:25", clock.instant().minusSeconds(1), 1);
        assertThat(health.state("[gone.test]:25")).as("an opening already over is ignored").isEqualTo(RelayHealth.State.CLOSED);

        clock.advance(Duration.ofMinutes(3));
        assertThat(health.allow(HOP)).isTrue();
        health.failed(HOP, 5);
        assertThat(health.openUntil(HOP)).as("the count of openings carried over: 4 minutes")
                .isEqualTo(clock.instant().plus(Duration.ofMinutes(4)));
    }

    @Test
    void anotherNodesGoodSessionClosesTheHopHere() {
        health.failed(HOP, 1);

        health.closedElsewhere("[SMTP.provider.test]:587");
        health.closedElsewhere("[unknown.test]:25");

        assertThat(health.state(HOP)).isEqualTo(RelayHealth.State.CLOSED);
        assertThat(health.allow(HOP)).isTrue();
        assertThat(health.states()).doesNotContainKey("[unknown.test]:25");
    }
}
