package org.relaymta.config.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.relaymta.config.ConfigException;

/**
 * Shaping rules: what to do when a provider answers that the relay sends too fast, or that it will
 * never take the mail. Rows of {@code relay-shaping.cf} in the config directory come first and
 * replace shipped rows of the same name ({@code NAME off} drops one); the shipped table
 * ({@code org/relaymta/config/relay-shaping.cf}: Gmail, Microsoft, Yahoo/AOL, SES, SendGrid,
 * Mailgun) follows. The first row whose destination and reply match decides.
 *
 * <p>A row: {@code NAME DESTINATIONS MATCH [/REGEX/] ACTION [SETTINGS]}. DESTINATIONS are
 * comma-separated: a server name ({@code smtp.gmail.com}), a pattern for all names under one
 * ({@code *.l.google.com}: every MX of Google's shares one budget), or a next hop as written
 * ({@code [smtp.example.com]:587}). MATCH is as in {@code bounce-classes.cf} (reply codes,
 * enhanced status codes, {@code *}). ACTION is {@code throttle [factor=0.5] [quiet=10m]},
 * {@code suspend for=DURATION} or {@code bounce}.
 */
public final class ShapingRules {
    public static final String FILE = "relay-shaping.cf";
    private static final String SHIPPED = "/org/relaymta/config/relay-shaping.cf";
    private static final Pattern ROW = Pattern.compile(
            "^(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(?:/(.*)/\\s+)?(throttle|suspend|bounce)((?:\\s+[a-z]+=\\S+)*)\\s*(?:#.*)?$");
    private static final Pattern OFF = Pattern.compile("^(\\S+)\\s+off\\s*(?:#.*)?$");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");
    private static final Pattern DESTINATION = Pattern.compile("(?:\\*\\.)?[a-z0-9][a-z0-9.-]*|\\[[a-z0-9.:-]+\\](?::\\d+)?");
    private static final ShapingRules SHIPPED_ONLY = new ShapingRules(shippedRules());

    public enum Action {
        /** Lower the destination's message rate and concurrency by a factor, restored a step per quiet period. */
        THROTTLE,
        /** No session to the destination until a time. */
        SUSPEND,
        /** A reply that means the mail will never be accepted: a bounce, not a deferral. */
        BOUNCE;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One rule.
     *
     * @param factor   throttle: each step multiplies the rate and concurrency by this (0 < factor < 1)
     * @param quiet    throttle: how long without a matching reply before one step back
     * @param duration suspend: for how long
     */
    public record Rule(String name, List<String> destinations, BounceClasses.Row reply, Action action, double factor,
                       Duration quiet, Duration duration, String location) {
        /** The first of this rule's destinations that names {@code host} (a server's name) or {@code hop} (as written). */
        public Optional<String> destinationFor(String host, String hop) {
            for (String d : destinations) {
                if (matches(d, host, hop)) {
                    return Optional.of(d);
                }
            }
            return Optional.empty();
        }

        /** Whether the reply ({@code reason} as logged, with its enhanced code {@code dsn}) is this rule's. */
        public boolean replyMatches(String dsn, String reason) {
            return reply.matches(BounceClasses.replyCode(reason), dsn == null ? "" : dsn, reason == null ? "" : reason);
        }
    }

    /** A rule that matched a reply, and which of its destinations (the budget the action applies to). */
    public record Match(Rule rule, String destination) {
    }

    private final List<Rule> rules;

    private ShapingRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    public static ShapingRules shipped() {
        return SHIPPED_ONLY;
    }

    public static ShapingRules none() {
        return new ShapingRules(List.of());
    }

    public List<Rule> rules() {
        return rules;
    }

    /**
     * Whether destination pattern {@code d} names a server {@code host} ({@code *.x} any name under
     * x) or the next hop {@code hop} as written; either may be null.
     */
    public static boolean matches(String d, String host, String hop) {
        if (d.startsWith("[")) {
            return hop != null && d.equalsIgnoreCase(hop);
        }
        if (host == null || host.isEmpty()) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return d.startsWith("*.") ? h.endsWith(d.substring(1)) : h.equals(d);
    }

    /** The first rule for a reply from {@code host} (the server's name, or null) on next hop {@code hop}. */
    public Optional<Match> match(String host, String hop, String dsn, String reason) {
        for (Rule r : rules) {
            Optional<String> d = r.destinationFor(host, hop);
            if (d.isPresent() && r.replyMatches(dsn, reason)) {
                return Optional.of(new Match(r, d.get()));
            }
        }
        return Optional.empty();
    }

    /** {@code relay-shaping.cf} of {@code configDir} (when there is one) before the shipped rules it does not replace. */
    public static ShapingRules load(Path configDir) {
        Path file = configDir.resolve(FILE);
        if (!Files.exists(file)) {
            return SHIPPED_ONLY;
        }
        Map<String, Rule> own = new LinkedHashMap<>();
        List<String> off = new ArrayList<>();
        try {
            parse(Files.readString(file, StandardCharsets.UTF_8), file.toString(), own, off);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + e.getMessage());
        }
        List<Rule> all = new ArrayList<>(own.values());
        for (Rule r : SHIPPED_ONLY.rules) {
            if (!own.containsKey(r.name()) && !off.contains(r.name())) {
                all.add(r);
            }
        }
        return new ShapingRules(all);
    }

    static void parse(String text, String source, Map<String, Rule> rules, List<String> off) {
        TableRows.forEach(text, source, (line, where) -> {
            Matcher o = OFF.matcher(line);
            if (o.matches()) {
                off.add(name(o.group(1), where));
                return;
            }
            Matcher m = ROW.matcher(line);
            if (!m.matches()) {
                throw new ConfigException(where, "expected 'NAME DESTINATIONS MATCH [/REGEX/] throttle|suspend|bounce "
                        + "[SETTINGS]' or 'NAME off', got '" + LogText.controls(line) + "'");
            }
            String name = name(m.group(1), where);
            if (rules.containsKey(name)) {
                throw new ConfigException(where, "rule '" + name + "' is already defined at " + rules.get(name).location());
            }
            List<String> destinations = new ArrayList<>();
            for (String d : m.group(2).toLowerCase(Locale.ROOT).split(",")) {
                if (!DESTINATION.matcher(d).matches()) {
                    throw new ConfigException(where, "'" + LogText.controls(d) + "' is not a destination (a host name, "
                            + "*.domain for every name under it, or a next hop as written: [host]:port)");
                }
                destinations.add(d);
            }
            BounceClasses.Row reply = BounceClasses.parse(m.group(3) + (m.group(4) == null ? "" : " /" + m.group(4) + "/")
                    + " shaping", where).get(0);
            rules.put(name, rule(name, destinations, reply, m.group(5), m.group(6).strip(), where));
        });
    }

    private static String name(String name, String where) {
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(where, "'" + LogText.controls(name) + "' is not a rule name (lower case letters, "
                    + "digits, '.', '_' and '-')");
        }
        return name;
    }

    private static Rule rule(String name, List<String> destinations, BounceClasses.Row reply, String action,
                             String settings, String where) {
        Action a = Action.valueOf(action.toUpperCase(Locale.ROOT));
        double factor = 0.5;
        Duration quiet = Duration.ofMinutes(10);
        Duration duration = null;
        for (String s : settings.isEmpty() ? new String[0] : settings.split("\\s+")) {
            String key = s.substring(0, s.indexOf('='));
            String value = s.substring(s.indexOf('=') + 1);
            switch (a.word() + " " + key) {
                case "throttle factor" -> {
                    try {
                        factor = Double.parseDouble(value);
                    } catch (NumberFormatException e) {
                        factor = -1;
                    }
                    if (!(factor > 0 && factor < 1)) {
                        throw new ConfigException(where, "'factor=" + value + "' is not a number between 0 and 1 "
                                + "(0.5 halves the rate)");
                    }
                }
                case "throttle quiet" -> quiet = Durations.parse(value, 's', where);
                case "suspend for" -> duration = Durations.parse(value, 's', where);
                default -> throw new ConfigException(where, "'" + key + "' is not a setting of " + a.word()
                        + " (throttle: factor=, quiet=; suspend: for=; bounce: none)");
            }
        }
        if (a == Action.SUSPEND && duration == null) {
            throw new ConfigException(where, "suspend needs 'for=DURATION' (for example for=15m)");
        }
        if (a == Action.THROTTLE && quiet.isZero()) {
            throw new ConfigException(where, "'quiet=' must be longer than 0");
        }
        return new Rule(name, List.copyOf(destinations), reply, a, factor, quiet, duration, where);
    }

    private static List<Rule> shippedRules() {
        try (InputStream in = ShapingRules.class.getResourceAsStream(SHIPPED)) {
            if (in == null) {
                throw new IllegalStateException("the shipped " + FILE + " is missing from the jar");
            }
            Map<String, Rule> rules = new LinkedHashMap<>();
            parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "shipped " + FILE, rules, new ArrayList<>());
            return new ArrayList<>(rules.values());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the shipped " + FILE + ": " + e.getMessage(), e);
        }
    }
}
