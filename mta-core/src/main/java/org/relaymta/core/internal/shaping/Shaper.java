package org.relaymta.core.internal.shaping;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.ShapingRules;
import org.relaymta.core.internal.delivery.DeliveryOutcome;

/**
 * Shaping that reacts to what providers answer ({@code relay-shaping.cf}): each deferral or bounce
 * is matched against the rules; a match throttles the destination (its message rate and
 * concurrency times the rule's factor, one step back per quiet period), suspends it, or turns the
 * deferral into a bounce. A destination is a rule's pattern ({@code *.l.google.com}), so every
 * domain one provider serves shares one budget. Throttles become quota limits
 * ({@link #limits}) counted where the relay's quotas are (in Redis for all nodes when shared);
 * actions started here are told to {@link Change} listeners (log, metrics, events, the other nodes).
 *
 * <p>Times come from the injected clock and {@link #tick()} applies what is due, so a test moves
 * time instead of sleeping.
 */
public final class Shaper {
    /** A throttle deepens at most this often: the replies of transactions already in flight say nothing new. */
    static final Duration DEEPEN_AFTER = Duration.ofSeconds(10);
    /** The smallest throttle step: the rate is never cut below the base times this. */
    static final double FLOOR = 1.0 / 64;
    /** The rate a throttle starts from when the destination sent nothing in the last minute. */
    static final double MIN_BASE_RATE = 1.0;

    /** What happened to a destination's action. */
    public enum Kind { STARTED, DEEPENED, STEPPED, LIFTED, CLEARED }

    /** One change; {@code trigger} is the outcome whose reply caused it (STARTED, DEEPENED), else null. */
    public record Change(Kind kind, ShapingAction action, DeliveryOutcome trigger, String queueId) {
    }

    private final Clock clock;
    private final Supplier<ShapingRules> rules;
    private final IntSupplier baseConcurrency;
    private final Map<String, ShapingAction> active = new ConcurrentHashMap<>();
    private final SendRates rates;
    /** Recipient domain -> the destination its MX hosts matched (direct mail: known before connecting). */
    private final Map<String, String> learned = new ConcurrentHashMap<>();
    private final List<Consumer<Change>> listeners = new CopyOnWriteArrayList<>();
    private final String node;

    /**
     * @param baseConcurrency the concurrency a throttle starts from ({@code default_destination_concurrency_limit})
     * @param node            this node's name, on actions it starts
     */
    public Shaper(Clock clock, Supplier<ShapingRules> rules, IntSupplier baseConcurrency, String node) {
        this.clock = clock;
        this.rules = rules;
        this.baseConcurrency = baseConcurrency;
        this.node = node;
        this.rates = new SendRates(clock);
    }

    public void onChange(Consumer<Change> listener) {
        listeners.add(listener);
    }

    /** {@code mta_shaping_active}: the throttle's step (1 for a suspension) while {@code rule} acts on {@code destination}, else 0. */
    public int level(String destination, String rule) {
        ShapingAction a = active.get(destination);
        if (a == null || !a.rule().equals(rule) || a.at(clock.instant()) == null) {
            return 0;
        }
        return a.action() == ShapingRules.Action.SUSPEND ? 1 : a.level();
    }

    /** The actions in force for mail to server {@code host} or next hop {@code hop} (as written), and to {@code domain}'s MX as learned. */
    public List<ShapingAction> affecting(String host, String hop, String domain) {
        String expected = domain == null ? null : expectedHost(domain);
        return list().stream().filter(a -> ShapingRules.matches(a.destination(), host, hop)
                || (expected != null && ShapingRules.matches(a.destination(), expected, null))).toList();
    }

    /** Whether any action is in force (the queue's quick path checks nothing else). */
    public boolean idle() {
        return active.isEmpty();
    }

    /** The actions in force now, by destination. */
    public List<ShapingAction> list() {
        tick();
        List<ShapingAction> out = new ArrayList<>(active.values());
        out.sort(Comparator.comparing(ShapingAction::destination));
        return out;
    }

    /**
     * Takes in one outcome of a transaction (with its route: {@link DeliveryOutcome#nextHop()} as
     * written, or the recipient domain for mail to its MX): counts it for the destination's send
     * rate, matches a deferral or bounce against the rules and acts. Returns the outcome as it
     * stands (a {@code bounce} rule's deferral is a bounce; a throttle or suspend rule's 5xx a deferral).
     */
    public DeliveryOutcome observe(DeliveryOutcome o, String queueId) {
        String hop = o.nextHop();
        boolean direct = o.direct();
        String host = host(o.relay());
        if (o.status() == DeliveryOutcome.Status.SENT) {
            if (!host.isEmpty()) {
                rates.sent(rules.get(), host, direct ? null : hop);
            }
            return o;
        }
        String hopHost = direct ? null : hop;
        Optional<ShapingRules.Match> m = rules.get().match(host.isEmpty() ? hopHostName(hop) : host, hopHost, o.dsn(),
                o.reason());
        if (m.isEmpty()) {
            return o;
        }
        ShapingRules.Rule rule = m.get().rule();
        String note = " (relay-shaping.cf rule " + rule.name() + ")";
        return switch (rule.action()) {
            case BOUNCE -> o.status() == DeliveryOutcome.Status.BOUNCED ? o : withStatus(o, DeliveryOutcome.Status.BOUNCED,
                    "5" + o.dsn().substring(1), o.reason() + note);
            case THROTTLE, SUSPEND -> {
                act(m.get(), o, queueId);
                // The provider's server works and asks for less: no failed session (no dead-destination backoff);
                // the shaping action paces the destination instead.
                DeliveryOutcome paced = new DeliveryOutcome(o.recipient(), o.status(), o.dsn(), o.reason(), o.relay(), o.tls(),
                        o.setupSeconds(), o.transmitSeconds(), false, o.direct(), o.nextHop());
                yield o.status() == DeliveryOutcome.Status.DEFERRED ? paced : withStatus(paced, DeliveryOutcome.Status.DEFERRED,
                        "4" + o.dsn().substring(1), o.reason() + note);
            }
        };
    }

    /**
     * Whether a refusal from {@code host} on {@code hop} is one a throttle or suspend rule is for:
     * the provider asks the relay to slow down, its server is not failing.
     */
    public boolean paces(String host, String hop, String dsn, String reason) {
        return rules.get().match(host, hop, dsn, reason).map(m -> m.rule().action() != ShapingRules.Action.BOUNCE)
                .orElse(false);
    }

    private void act(ShapingRules.Match m, DeliveryOutcome trigger, String queueId) {
        Instant now = clock.instant();
        ShapingRules.Rule rule = m.rule();
        String reply = trigger.reason();
        Change[] change = new Change[1];
        active.compute(m.destination(), (d, old) -> {
            if (rule.action() == ShapingRules.Action.SUSPEND) {
                if (old != null && old.suspended(now)) {
                    return old;   // logged once: replies of sessions already under way change nothing
                }
                ShapingAction a = ShapingAction.suspend(d, rule.name(), now, now.plus(rule.duration()), reply, node);
                change[0] = new Change(Kind.STARTED, a, trigger, queueId);
                return a;
            }
            if (old != null && old.action() == ShapingRules.Action.THROTTLE) {
                if (Duration.between(old.changed(), now).compareTo(DEEPEN_AFTER) < 0 || old.factorNow() <= FLOOR) {
                    return old.quietFrom(now);
                }
                ShapingAction a = old.deeper(now, reply);
                change[0] = new Change(Kind.DEEPENED, a, trigger, queueId);
                return a;
            }
            if (old != null && old.suspended(now)) {
                return old;
            }
            double base = Math.max(MIN_BASE_RATE, rates.perSecond(d));
            ShapingAction a = ShapingAction.throttle(d, rule.name(), rule.factor(), rule.quiet(), base,
                    baseConcurrency.getAsInt(), now, reply, node);
            change[0] = new Change(Kind.STARTED, a, trigger, queueId);
            return a;
        });
        if (change[0] != null) {
            tell(change[0]);
        }
    }

    /** Applies what is due: throttles a step back after each quiet period, suspensions that ended lifted. */
    public void tick() {
        Instant now = clock.instant();
        for (ShapingAction a : List.copyOf(active.values())) {
            ShapingAction next = a.at(now);
            if (next == a) {
                continue;
            }
            if (next == null) {
                if (active.remove(a.destination(), a)) {
                    tell(new Change(Kind.LIFTED, a, null, null));
                }
            } else if (active.replace(a.destination(), a, next)) {
                tell(new Change(Kind.STEPPED, next, null, null));
            }
        }
    }

    /** The suspension in force for a server {@code host} (or null) on next hop {@code hop} (as written, or null). */
    public Optional<ShapingAction> suspension(String host, String hop) {
        if (active.isEmpty()) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        for (ShapingAction a : active.values()) {
            if (a.suspended(now) && ShapingRules.matches(a.destination(), host, hop)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    /** The quota limits of the throttles in force for {@code host} on {@code hop} (either may be null). */
    public List<RelayLimits.Limit> limits(String host, String hop) {
        if (active.isEmpty()) {
            return List.of();
        }
        tick();
        List<RelayLimits.Limit> out = new ArrayList<>(1);
        for (ShapingAction a : active.values()) {
            if (a.action() == ShapingRules.Action.THROTTLE && ShapingRules.matches(a.destination(), host, hop)) {
                out.add(a.limit());
            }
        }
        return out;
    }

    /** Remembers that mail to {@code domain} went to server {@code host}: its destination is known before connecting next time. */
    public void learn(String domain, String host) {
        if (domain == null || domain.isEmpty()) {
            return;
        }
        for (ShapingRules.Rule r : rules.get().rules()) {
            Optional<String> d = r.destinationFor(host, null);
            if (d.isPresent()) {
                if (learned.size() > 10_000) {
                    learned.clear();
                }
                learned.put(domain, d.get());
                return;
            }
        }
    }

    /** The server name a direct route to {@code domain} is expected to reach (a destination pattern learned earlier), or null. */
    public String expectedHost(String domain) {
        String d = learned.get(domain);
        // A pattern stands for any name under it; the pattern itself matches it.
        return d == null ? null : d.startsWith("*.") ? "x" + d.substring(1) : d;
    }

    /** Lifts the action on {@code destination} (every action when null); returns what was lifted. */
    public List<ShapingAction> clear(String destination) {
        List<ShapingAction> lifted = new ArrayList<>();
        for (ShapingAction a : List.copyOf(active.values())) {
            if ((destination == null || a.destination().equalsIgnoreCase(destination)) && active.remove(a.destination(), a)) {
                lifted.add(a);
                tell(new Change(Kind.CLEARED, a, null, null));
            }
        }
        return lifted;
    }

    /** An action another node started or changed: in force here too, without telling the others again. */
    public void appliedElsewhere(ShapingAction a) {
        if (a.at(clock.instant()) != null) {
            active.put(a.destination(), a);
        }
    }

    /** Another node lifted an action by hand. */
    public void clearedElsewhere(String destination) {
        active.remove(destination);
    }

    private void tell(Change c) {
        for (Consumer<Change> l : listeners) {
            l.accept(c);
        }
    }

    private static DeliveryOutcome withStatus(DeliveryOutcome o, DeliveryOutcome.Status status, String dsn, String reason) {
        return new DeliveryOutcome(o.recipient(), status, dsn, reason, o.relay(), o.tls(), o.setupSeconds(),
                o.transmitSeconds(), o.sessionFailed(), o.direct(), o.nextHop());
    }

    /** {@code host} of Postfix's {@code host[ip]:port}; empty for {@code none}. */
    static String host(String relay) {
        if (relay == null || relay.equals("none")) {
            return "";
        }
        int b = relay.indexOf('[');
        return b < 0 ? relay : relay.substring(0, b);
    }

    /** The host name of a next hop as written ({@code [smtp.example.com]:587}, {@code smtp.example.com}). */
    static String hopHostName(String hop) {
        if (hop == null) {
            return null;
        }
        String h = hop.startsWith("[") && hop.indexOf(']') > 0 ? hop.substring(1, hop.indexOf(']')) : hop;
        int colon = h.lastIndexOf(':');
        return colon > 0 && !hop.startsWith("[") ? h.substring(0, colon) : h;
    }
}
