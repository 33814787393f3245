package org.relaymta.core.internal.shaping;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.ShapingRules;

/**
 * One shaping action in force on a destination: a throttle at some step (the rate and concurrency
 * it started from times {@code factor^level}, one step back at {@code nextStep} and after each
 * further quiet period), or a suspension until a time. Immutable: a change is a new value.
 *
 * @param baseRate        messages per second the throttle started from
 * @param baseConcurrency transactions at once the throttle started from
 * @param since           when the action started
 * @param changed         when its level last went down (throttle), for the next deepening
 * @param nextStep        throttle: when it goes one step back unless another matching reply comes
 * @param until           suspend: when sessions are allowed again
 * @param reply           the reply that started it, as logged
 * @param node            the node that started it
 */
public record ShapingAction(String destination, String rule, ShapingRules.Action action, int level, double factor,
                            Duration quiet, double baseRate, int baseConcurrency, Instant since, Instant changed,
                            Instant nextStep, Instant until, String reply, String node) {

    static ShapingAction suspend(String destination, String rule, Instant now, Instant until, String reply, String node) {
        return new ShapingAction(destination, rule, ShapingRules.Action.SUSPEND, 1, 1, Duration.ZERO, 0, 0, now, now, until,
                until, reply, node);
    }

    static ShapingAction throttle(String destination, String rule, double factor, Duration quiet, double baseRate,
                                  int baseConcurrency, Instant now, String reply, String node) {
        return new ShapingAction(destination, rule, ShapingRules.Action.THROTTLE, 1, factor, quiet, baseRate, baseConcurrency,
                now, now, now.plus(quiet), null, reply, node);
    }

    boolean suspended(Instant now) {
        return action == ShapingRules.Action.SUSPEND && now.isBefore(until);
    }

    /** The factor now: {@code factor^level}. */
    public double factorNow() {
        return Math.pow(factor, level);
    }

    /** Messages per second the throttle allows now. */
    public double ratePerSecond() {
        return baseRate * factorNow();
    }

    /** Transactions at once the throttle allows now. */
    public int concurrency() {
        return Math.max(1, (int) Math.floor(baseConcurrency * factorNow()));
    }

    /** When the action ends if nothing renews it. */
    public Instant ends() {
        return action == ShapingRules.Action.SUSPEND ? until : nextStep.plus(quiet.multipliedBy(level - 1L));
    }

    ShapingAction quietFrom(Instant now) {
        return new ShapingAction(destination, rule, action, level, factor, quiet, baseRate, baseConcurrency, since, changed,
                now.plus(quiet), until, reply, node);
    }

    ShapingAction deeper(Instant now, String why) {
        return new ShapingAction(destination, rule, action, level + 1, factor, quiet, baseRate, baseConcurrency, since, now,
                now.plus(quiet), until, why, node);
    }

    /** This action at {@code now}: itself, a throttle some steps back, or null when it is over. */
    ShapingAction at(Instant now) {
        if (action == ShapingRules.Action.SUSPEND) {
            return now.isBefore(until) ? this : null;
        }
        if (now.isBefore(nextStep)) {
            return this;
        }
        long steps = 1 + Duration.between(nextStep, now).toMillis() / Math.max(1, quiet.toMillis());
        if (steps >= level) {
            return null;
        }
        return new ShapingAction(destination, rule, action, (int) (level - steps), factor, quiet, baseRate, baseConcurrency,
                since, changed, nextStep.plus(quiet.multipliedBy(steps)), until, reply, node);
    }

    /** The throttle as a quota limit, counted where relay-limits.cf quotas are (the key stays the same across steps). */
    RelayLimits.Limit limit() {
        double r = ratePerSecond();
        String written = "messages=" + rate(r) + " (relay-shaping.cf rule " + rule + ")";
        RelayLimits.Rate rate = r >= 1 ? new RelayLimits.Rate(Math.round(r), Duration.ofSeconds(1), written)
                : new RelayLimits.Rate(1, Duration.ofMillis(Math.max(1, Math.round(1000 / r))), written);
        return new RelayLimits.Limit("shaping " + destination, rate, null, concurrency(), null, "relay-shaping.cf rule " + rule,
                null);
    }

    private static String rate(double perSecond) {
        if (perSecond >= 1) {
            return String.format(Locale.ROOT, "%.0f/s", perSecond);
        }
        return perSecond * 60 >= 1 ? String.format(Locale.ROOT, "%.0f/m", perSecond * 60)
                : String.format(Locale.ROOT, "%.0f/h", Math.max(1, perSecond * 3600));
    }

    /** In a word, as the log, {@code /health} and {@code mta shaping list} say it. */
    public String describe() {
        if (action == ShapingRules.Action.SUSPEND) {
            return "suspended until " + until;
        }
        return "throttled to " + rate(ratePerSecond()) + ", concurrency " + concurrency() + " (step " + level + ", factor "
                + factor + "; one step back at " + nextStep + " unless the provider complains again)";
    }

    /** One line for Redis: the fields tab-separated (no field holds a tab: the reply is logged text, tabs escaped). */
    public String encode() {
        return String.join("\t", destination, rule, action.name(), Integer.toString(level), Double.toString(factor),
                Long.toString(quiet.toMillis()), Double.toString(baseRate), Integer.toString(baseConcurrency),
                Long.toString(since.toEpochMilli()), Long.toString(changed.toEpochMilli()),
                Long.toString(nextStep.toEpochMilli()), until == null ? "" : Long.toString(until.toEpochMilli()),
                reply.replace('\t', ' ').replace('\n', ' '), node);
    }

    /** The value {@link #encode()} wrote (another node's); null when it is not one. */
    public static ShapingAction decodeShared(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 14) {
            return null;
        }
        try {
            return new ShapingAction(f[0], f[1], ShapingRules.Action.valueOf(f[2]), Integer.parseInt(f[3]),
                    Double.parseDouble(f[4]), Duration.ofMillis(Long.parseLong(f[5])), Double.parseDouble(f[6]),
                    Integer.parseInt(f[7]), Instant.ofEpochMilli(Long.parseLong(f[8])), Instant.ofEpochMilli(Long.parseLong(f[9])),
                    Instant.ofEpochMilli(Long.parseLong(f[10])), f[11].isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(f[11])),
                    f[12], f[13]);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
