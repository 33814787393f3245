package org.relaymta.config.internal;

import java.time.Duration;
import org.relaymta.config.ConfigException;

/** Postfix time values: a number with an optional unit letter (s, m, h, d, w). */
final class Durations {
    private Durations() {
    }

    static Duration parse(String value, char defaultUnit, String where) {
        String v = value.strip();
        if (v.isEmpty()) {
            throw new ConfigException(where, "empty time value");
        }
        char unit = defaultUnit;
        String number = v;
        char last = Character.toLowerCase(v.charAt(v.length() - 1));
        if (Character.isLetter(last)) {
            unit = last;
            number = v.substring(0, v.length() - 1);
        }
        long amount;
        try {
            amount = Long.parseLong(number);
        } catch (NumberFormatException e) {
            throw new ConfigException(where, "invalid time value '" + v + "' (expected a number with unit s, m, h, d or w)");
        }
        if (amount < 0) {
            throw new ConfigException(where, "time value '" + v + "' is negative");
        }
        switch (unit) {
            case 's': return Duration.ofSeconds(amount);
            case 'm': return Duration.ofMinutes(amount);
            case 'h': return Duration.ofHours(amount);
            case 'd': return Duration.ofDays(amount);
            case 'w': return Duration.ofDays(7 * amount);
            default:
                throw new ConfigException(where, "invalid time unit '" + unit + "' in '" + v + "' (expected s, m, h, d or w)");
        }
    }
}
