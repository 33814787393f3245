package org.relaymta.config.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.relaymta.config.ConfigException;

/**
 * {@code relay-limits.cf}: provider quotas, Postfix table syntax. The key is a next hop exactly as
 * written in the relay settings ({@code [email-smtp.eu-west-1.amazonaws.com]:587}),
 * {@code account:USERNAME} (all mail authenticated as that SASL user), or {@code *} (every relay);
 * the value is comma-separated settings: {@code messages=N/s|m|h|d}, {@code recipients=N/s|m|h|d},
 * {@code concurrency=N}, {@code recipients_per_message=N}, {@code preset=NAME} (expanded first,
 * explicit settings override), and a warm-up schedule for a new domain or account:
 * {@code warmup=50;100;500;1000} with {@code warmup_start=YYYY-MM-DD} (messages per UTC day, one
 * step a day from the start; after the last step no warm-up limit). When several keys apply, all must allow.
 */
public final class RelayLimits {
    public static final String FILE = "relay-limits.cf";

    /** A rate: {@code count} per {@code period}. */
    public record Rate(long count, Duration period, String written) {
        /** The time one unit takes at this rate (GCRA's emission interval). */
        public Duration interval() {
            return period.dividedBy(count);
        }
    }

    /**
     * A warm-up: at most {@code volumes[d]} messages on the {@code d}-th UTC day from {@code start}
     * (day 0 is the start), none before the start's first step, no limit after the last step.
     */
    public record Warmup(java.time.LocalDate start, List<Long> volumes, String written) {
        /** The day's volume, or empty when the schedule is over. */
        public java.util.OptionalLong volumeOn(java.time.LocalDate day) {
            long d = java.time.temporal.ChronoUnit.DAYS.between(start, day);
            if (d >= volumes.size()) {
                return java.util.OptionalLong.empty();
            }
            return java.util.OptionalLong.of(d < 0 ? volumes.get(0) : volumes.get((int) d));
        }
    }

    /** One key's limits; null fields are unset. */
    public record Limit(String key, Rate messages, Rate recipients, Integer concurrency, Integer recipientsPerMessage,
                        String location, Warmup warmup) {
        public Limit(String key, Rate messages, Rate recipients, Integer concurrency, Integer recipientsPerMessage,
                     String location) {
            this(key, messages, recipients, concurrency, recipientsPerMessage, location, null);
        }
    }

    /** The presets: each provider's documented limits ({@link Providers}), by preset name. */
    public static final Map<String, String> PRESETS = presets();

    private static Map<String, String> presets() {
        Map<String, String> m = new LinkedHashMap<>();
        Providers.ALL.forEach(p -> m.put(p.name(), p.quotaPreset()));
        return Map.copyOf(m);
    }

    private final Map<String, Limit> limits;

    private RelayLimits(Map<String, Limit> limits) {
        this.limits = Map.copyOf(limits);
    }

    public static RelayLimits none() {
        return new RelayLimits(Map.of());
    }

    public boolean isEmpty() {
        return limits.isEmpty();
    }

    public Map<String, Limit> all() {
        return limits;
    }

    /** The limits that apply to mail through {@code hops} (as written) authenticated as {@code account} (or null). */
    public List<Limit> applicable(List<String> hops, String account) {
        List<Limit> out = new ArrayList<>();
        Limit star = limits.get("*");
        if (star != null) {
            out.add(star);
        }
        for (String hop : hops) {
            Limit l = limits.get(hop.toLowerCase(Locale.ROOT));
            if (l != null && !out.contains(l)) {
                out.add(l);
            }
        }
        if (account != null) {
            Limit l = limits.get("account:" + account.toLowerCase(Locale.ROOT));
            if (l != null) {
                out.add(l);
            }
        }
        return out;
    }

    public static RelayLimits load(Path configDir) {
        Path file = configDir.resolve(FILE);
        if (!Files.exists(file)) {
            return none();
        }
        PostfixTable table = PostfixTable.read(file);
        Map<String, Limit> limits = new LinkedHashMap<>();
        for (PostfixTable.Entry e : table.entries().values()) {
            limits.put(e.key().toLowerCase(Locale.ROOT), parse(e.key(), e.value(), e.location()));
        }
        return new RelayLimits(limits);
    }

    /** One line of {@code relay-limits.cf}: {@code key}, its settings as written, and where it was read (for errors). */
    public static Limit parse(String key, String value, String location) {
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> items = split(value, location);
        for (String item : items) {
            if (item.startsWith("preset=")) {
                String preset = PRESETS.get(item.substring(7).toLowerCase(Locale.ROOT));
                if (preset == null) {
                    throw new ConfigException(location, "unknown preset '" + item.substring(7) + "' (known: "
                            + String.join(", ", new TreeSet<>(PRESETS.keySet())) + ")");
                }
                for (String p : split(preset, location)) {
                    settings.put(p.substring(0, p.indexOf('=')), p);
                }
            }
        }
        for (String item : items) {
            if (!item.startsWith("preset=")) {
                settings.put(item.substring(0, item.indexOf('=')), item);   // explicit settings override the preset
            }
        }
        Rate messages = null;
        Rate recipients = null;
        Integer concurrency = null;
        Integer perMessage = null;
        String warmup = null;
        String warmupStart = null;
        for (String item : settings.values()) {
            String name = item.substring(0, item.indexOf('='));
            String v = item.substring(item.indexOf('=') + 1);
            switch (name) {
                case "messages" -> messages = rate(item, v, location);
                case "recipients" -> recipients = rate(item, v, location);
                case "concurrency" -> concurrency = positive(item, v, location);
                case "recipients_per_message" -> perMessage = positive(item, v, location);
                case "warmup" -> warmup = v;
                case "warmup_start" -> warmupStart = v;
                default -> throw new ConfigException(location, "unknown setting '" + name + "' (messages, recipients, "
                        + "concurrency, recipients_per_message, warmup, warmup_start, preset)");
            }
        }
        return new Limit(key, messages, recipients, concurrency, perMessage, location, warmup(warmup, warmupStart, location));
    }

    private static Warmup warmup(String schedule, String start, String location) {
        if (schedule == null && start == null) {
            return null;
        }
        if (schedule == null) {
            throw new ConfigException(location, "'warmup_start=" + start + "' without 'warmup=N;N;...' (the daily volumes)");
        }
        if (start == null) {
            throw new ConfigException(location, "'warmup=" + schedule + "' needs 'warmup_start=YYYY-MM-DD', the UTC day the "
                    + "schedule's first volume applies");
        }
        java.time.LocalDate day;
        try {
            day = java.time.LocalDate.parse(start);
        } catch (java.time.format.DateTimeParseException e) {
            throw new ConfigException(location, "'warmup_start=" + start + "' is not a date (YYYY-MM-DD)");
        }
        List<Long> volumes = new ArrayList<>();
        for (String step : schedule.split(";")) {
            volumes.add((long) positive("warmup=" + schedule, step, location));
        }
        return new Warmup(day, List.copyOf(volumes), "warmup=" + schedule);
    }

    private static List<String> split(String value, String location) {
        List<String> out = new ArrayList<>();
        for (String raw : value.split(",")) {
            String item = raw.strip().toLowerCase(Locale.ROOT).replace(" ", "");
            if (item.isEmpty()) {
                continue;
            }
            if (!item.contains("=")) {
                throw new ConfigException(location, "expected NAME=VALUE, got '" + raw.strip() + "'");
            }
            out.add(item);
        }
        if (out.isEmpty()) {
            throw new ConfigException(location, "no settings (messages=N/s, recipients=N/d, concurrency=N, ...)");
        }
        return out;
    }

    private static Rate rate(String item, String v, String location) {
        int slash = v.indexOf('/');
        if (slash < 0) {
            throw new ConfigException(location, "'" + item + "' is not N/s, N/m, N/h or N/d");
        }
        long n = positive(item, v.substring(0, slash), location);
        Duration period = switch (v.substring(slash + 1)) {
            case "s" -> Duration.ofSeconds(1);
            case "m" -> Duration.ofMinutes(1);
            case "h" -> Duration.ofHours(1);
            case "d" -> Duration.ofDays(1);
            default -> throw new ConfigException(location, "'" + item + "': the unit is s, m, h or d");
        };
        return new Rate(n, period, item);
    }

    private static int positive(String item, String v, String location) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // below
        }
        throw new ConfigException(location, "'" + item + "': '" + v + "' is not a positive number");
    }
}
