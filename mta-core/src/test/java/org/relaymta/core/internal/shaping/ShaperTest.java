package org.relaymta.core.internal.shaping;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.ShapingRules;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.testing.MovedClock;

/**
 * What providers' replies do to a destination, with a moved clock: Gmail's 4.7.28 throttles every
 * Google MX (rate and concurrency halved, deeper only after a while, restored a step per quiet
 * period, then lifted), a suspension ends on time, a sandbox reply bounces, a quota worded as a 5xx
 * defers, and what another node started applies here.
 */
class ShaperTest {
    private static final String GMAIL_RATE = "421 4.7.28 [192.0.2.1 15] Our system has detected an unusual rate of unsolicited "
            + "mail originating from your IP address. - gsmtp";
    private final MovedClock clock = new MovedClock();
    private final Shaper shaper = new Shaper(clock, ShapingRules::shipped, () -> 20, "node-a");
    private final List<Shaper.Change> changes = new ArrayList<>();

    ShaperTest() {
        shaper.onChange(changes::add);
    }

    private static DeliveryOutcome outcome(DeliveryOutcome.Status status, String host, String dsn, String reply) {
        return new DeliveryOutcome("user@gmail.com", status, dsn, "host " + host + "[192.0.2.1] said: " + reply
                + " (in reply to end of DATA command)", host + "[192.0.2.1]:25", "", 0, 0, false, true, "gmail.com");
    }

    private DeliveryOutcome sent(String host) {
        return shaper.observe(outcome(DeliveryOutcome.Status.SENT, host, "2.0.0", "250 2.0.0 OK"), "Q1");
    }

    @Test
    void gmailsUnusualRateThrottlesEveryGoogleMxAndIsRestoredStepwise() {
        for (int i = 0; i < 20; i++) {
            sent("gmail-smtp-in.l.google.com");
            clock.advance(Duration.ofMillis(100));
        }
        // 20 messages in 2 s: 10 a second. The reply throttles the destination at once.
        DeliveryOutcome o = shaper.observe(outcome(DeliveryOutcome.Status.DEFERRED, "gmail-smtp-in.l.google.com", "4.7.28",
                GMAIL_RATE), "Q2");
        assertThat(o.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.kind()).isEqualTo(Shaper.Kind.STARTED);
            assertThat(c.queueId()).isEqualTo("Q2");
            assertThat(c.action().destination()).isEqualTo("*.l.google.com");
            assertThat(c.action().rule()).isEqualTo("gmail-rate");
        });
        ShapingAction a = shaper.list().get(0);
        assertThat(a.ratePerSecond()).isCloseTo(5.0, org.assertj.core.data.Offset.offset(0.6));
        assertThat(a.concurrency()).isEqualTo(10);
        // Another of Google's MX hosts (another domain it serves) shares the budget.
        List<RelayLimits.Limit> limits = shaper.limits("alt3.gmail-smtp-in.l.google.com", null);
        assertThat(limits).singleElement().satisfies(l -> {
            assertThat(l.key()).isEqualTo("shaping *.l.google.com");
            assertThat(l.concurrency()).isEqualTo(10);
            assertThat(l.messages().interval()).isBetween(Duration.ofMillis(160), Duration.ofMillis(250));
        });
        assertThat(shaper.limits("mx.example.org", null)).isEmpty();

        // Replies of transactions already under way do not deepen it...
        clock.advance(Duration.ofSeconds(2));
        shaper.observe(outcome(DeliveryOutcome.Status.DEFERRED, "alt1.gmail-smtp-in.l.google.com", "4.7.28", GMAIL_RATE), "Q3");
        assertThat(shaper.list().get(0).level()).isEqualTo(1);
        // ...a complaint after 10 s does.
        clock.advance(Duration.ofSeconds(10));
        shaper.observe(outcome(DeliveryOutcome.Status.DEFERRED, "alt1.gmail-smtp-in.l.google.com", "4.7.28", GMAIL_RATE), "Q4");
        assertThat(shaper.list().get(0).level()).isEqualTo(2);
        assertThat(shaper.list().get(0).concurrency()).isEqualTo(5);
        assertThat(changes.get(changes.size() - 1).kind()).isEqualTo(Shaper.Kind.DEEPENED);

        // gmail-rate's quiet period is 15 min: a step back after it, lifted after one more.
        clock.advance(Duration.ofMinutes(15));
        shaper.tick();
        assertThat(shaper.list().get(0).level()).isEqualTo(1);
        assertThat(changes.get(changes.size() - 1).kind()).isEqualTo(Shaper.Kind.STEPPED);
        clock.advance(Duration.ofMinutes(15));
        shaper.tick();
        assertThat(shaper.list()).isEmpty();
        assertThat(shaper.idle()).isTrue();
        assertThat(changes.get(changes.size() - 1).kind()).isEqualTo(Shaper.Kind.LIFTED);
        assertThat(shaper.limits("gmail-smtp-in.l.google.com", null)).isEmpty();
    }

    @Test
    void aSuspensionHoldsTheDestinationUntilItsTime() {
        DeliveryOutcome o = shaper.observe(new DeliveryOutcome("x@example.com", DeliveryOutcome.Status.DEFERRED, "4.0.0",
                "host email-smtp.eu-west-1.amazonaws.com[192.0.2.9] said: 454 Throttling failure: Daily message quota exceeded. "
                        + "(in reply to end of DATA command)", "email-smtp.eu-west-1.amazonaws.com[192.0.2.9]:587", "", 0, 0, false,
                false, "[email-smtp.eu-west-1.amazonaws.com]:587"), "Q1");
        assertThat(o.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        ShapingAction s = shaper.suspension("email-smtp.eu-west-1.amazonaws.com", "[email-smtp.eu-west-1.amazonaws.com]:587")
                .orElseThrow();
        assertThat(s.rule()).isEqualTo("ses-daily-quota");
        assertThat(s.until()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
        clock.advance(Duration.ofMinutes(59));
        assertThat(shaper.suspension("email-smtp.eu-west-1.amazonaws.com", null)).isPresent();
        clock.advance(Duration.ofMinutes(1));
        assertThat(shaper.suspension("email-smtp.eu-west-1.amazonaws.com", null)).isEmpty();
        shaper.tick();
        assertThat(changes).extracting(Shaper.Change::kind).containsExactly(Shaper.Kind.STARTED, Shaper.Kind.LIFTED);
    }

    @Test
    void aReplyThatNeverChangesBouncesAndAQuotaWordedAsPermanentDefers() {
        DeliveryOutcome sandbox = shaper.observe(new DeliveryOutcome("x@example.com", DeliveryOutcome.Status.DEFERRED, "4.0.0",
                "host smtp.mailgun.org[192.0.2.7] said: 421 Domain sandbox1.mailgun.org is not allowed to send: Sandbox "
                        + "subdomains are for test purposes only. (in reply to end of DATA command)", "smtp.mailgun.org[192.0.2.7]:587",
                "", 0, 0, false, false, "[smtp.mailgun.org]:587"), "Q1");
        assertThat(sandbox.status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(sandbox.dsn()).isEqualTo("5.0.0");
        assertThat(sandbox.reason()).endsWith("(relay-shaping.cf rule mailgun-sandbox)");
        DeliveryOutcome quota = shaper.observe(new DeliveryOutcome("x@example.com", DeliveryOutcome.Status.BOUNCED, "5.2.0",
                "host smtp.office365.com[192.0.2.8] said: 554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"
                        + " (in reply to end of DATA command)", "smtp.office365.com[192.0.2.8]:587", "", 0, 0, false, false,
                "[smtp.office365.com]:587"), "Q2");
        assertThat(quota.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(quota.dsn()).isEqualTo("4.2.0");
        assertThat(shaper.suspension("smtp.office365.com", null)).isPresent();
        // The bounce rule starts no action; the suspension does.
        assertThat(changes).extracting(c -> c.action().rule()).containsExactly("microsoft-quota");
    }

    @Test
    void anActionAnotherNodeStartedAppliesHereAndAClearLiftsIt() {
        Shaper other = new Shaper(clock, ShapingRules::shipped, () -> 20, "node-b");
        List<Shaper.Change> seen = new ArrayList<>();
        other.onChange(seen::add);
        other.observe(outcome(DeliveryOutcome.Status.DEFERRED, "gmail-smtp-in.l.google.com", "4.7.28", GMAIL_RATE), "Q9");
        ShapingAction shared = ShapingAction.decodeShared(seen.get(0).action().encode());
        assertThat(shared).isEqualTo(seen.get(0).action());
        shaper.appliedElsewhere(shared);
        assertThat(shaper.limits("gmail-smtp-in.l.google.com", null)).hasSize(1);
        assertThat(changes).as("not told again: the other node announced it").isEmpty();
        // Learned: mail for gmail.com went to Google's MX, so the throttle is known before connecting.
        shaper.learn("gmail.com", "gmail-smtp-in.l.google.com");
        assertThat(shaper.limits(shaper.expectedHost("gmail.com"), null)).hasSize(1);
        assertThat(shaper.clear("*.l.google.com")).hasSize(1);
        assertThat(shaper.idle()).isTrue();
        assertThat(changes).extracting(Shaper.Change::kind).containsExactly(Shaper.Kind.CLEARED);
    }
}
