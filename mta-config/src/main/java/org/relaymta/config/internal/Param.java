package org.relaymta.config.internal;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * One setting of the relay, declared once as Postfix's {@code mail_params} declares its
 * parameters: the {@code postfix-main.cf} name (or, for a setting that only a variable sets, the
 * variable), the environment variable that sets it too and which of the two wins, the default as
 * written, how its text is parsed, the unit, whether it is a secret, and what it means. The
 * loader, {@code mta config}, {@code RelaySettings} and {@code docs/parameters.md}
 * all read the {@link Params} table of these.
 *
 * @param <T> the parsed value's type
 */
public final class Param<T> {
    /** Where the setting belongs, and the section it is listed under in the reference page. */
    public enum Section {
        ROUTING("Routing and credentials"), LISTENER("Listeners"), DELIVERY("Delivery (SMTP client)"), QUEUE("Queue"),
        CONTENT("Content: size, header checks, milters"), EVENTS("Delivery events and suppression"),
        CLUSTER("Several relay nodes"),
        PROCESS("The mta process"), LOGGING("Logging");

        private final String title;

        Section(String title) {
            this.title = title;
        }

        public String title() {
            return title;
        }
    }

    /** Which source wins when both the main.cf parameter and the variable are set. */
    public enum Precedence { MAIN_CF, VARIABLE }

    /**
     * Text to value. A bad value is an {@link IllegalArgumentException} whose message completes
     * "NAME ..." ({@code must be yes or no, not 'maybe'}); {@link #parse} adds the name and the place.
     */
    public interface Parser<T> {
        T parse(String text, String where);
    }

    private final String name;
    private final boolean inMainCf;
    private final Optional<String> variable;
    private final Precedence precedence;
    private final Section section;
    private final String defaultText;
    private final Parser<T> parser;
    private final String unit;
    private final boolean secret;
    private final String doc;

    private Param(String name, boolean inMainCf, Optional<String> variable, Precedence precedence, Section section,
                  String defaultText, Parser<T> parser, String unit, boolean secret, String doc) {
        this.name = name;
        this.inMainCf = inMainCf;
        this.variable = variable;
        this.precedence = precedence;
        this.section = section;
        this.defaultText = defaultText;
        this.parser = parser;
        this.unit = unit;
        this.secret = secret;
        this.doc = doc;
    }

    /** A {@code postfix-main.cf} parameter with Postfix's name. */
    static <T> Param<T> mainCf(String name, Section section, String defaultText, Parser<T> parser, String unit, String doc) {
        return new Param<>(name, true, Optional.empty(), Precedence.MAIN_CF, section, defaultText, parser, unit, false, doc);
    }

    /** A setting only an environment variable (or {@code NAME__FILE}) sets. */
    static <T> Param<T> variable(String name, Section section, String defaultText, Parser<T> parser, String unit, String doc) {
        return new Param<>(name, false, Optional.of(name), Precedence.VARIABLE, section, defaultText, parser, unit, false, doc);
    }

    /** The same setting, also set by {@code variable}; {@code precedence} says which wins. */
    Param<T> alsoVariable(String variable, Precedence precedence) {
        return new Param<>(name, inMainCf, Optional.of(variable), precedence, section, defaultText, parser, unit, secret, doc);
    }

    /** The same setting, a secret: never shown, only {@code ****}. */
    Param<T> asSecret() {
        return new Param<>(name, inMainCf, variable, precedence, section, defaultText, parser, unit, true, doc);
    }

    public String name() {
        return name;
    }

    public boolean inMainCf() {
        return inMainCf;
    }

    public Optional<String> variable() {
        return variable;
    }

    public Precedence precedence() {
        return precedence;
    }

    public Section section() {
        return section;
    }

    /** The default as written in {@code postfix-main.cf} syntax; empty for none; a derived default says so in words. */
    public String defaultText() {
        return defaultText;
    }

    public String unit() {
        return unit;
    }

    public boolean secret() {
        return secret;
    }

    public String doc() {
        return doc;
    }

    /** Whether the default is a value to parse (not a description of how it is derived). */
    boolean defaultIsValue() {
        return !defaultText.startsWith("(");
    }

    /** The value of {@code text}; a bad one is a {@link ConfigException} naming {@code where} and this parameter. */
    public T parse(String text, String where) {
        try {
            return parser.parse(text, where);
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where, name + " " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return name;
    }

    // ---------------------------------------------------------------- parsers

    private static final Parser<String> TEXT = (text, where) -> text;

    /** Text as written; empty text means "not set" (a table turned off, a relay host left out). */
    static Parser<String> text() {
        return TEXT;
    }

    /** Whether the value is text as written (empty then means unset) rather than a number, time or switch. */
    boolean isText() {
        return parser == TEXT;
    }

    /** One of {@code choices}, as written (lower case). */
    static Parser<String> oneOf(String... choices) {
        return (text, where) -> {
            String v = text.strip().toLowerCase(Locale.ROOT);
            if (!List.of(choices).contains(v)) {
                throw new IllegalArgumentException("must be " + String.join(" or ", choices) + ", not '" + text + "'");
            }
            return v;
        };
    }

    static Parser<Boolean> yesNo() {
        return (text, where) -> switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "yes", "true", "on" -> true;
            case "no", "false", "off" -> false;
            default -> throw new IllegalArgumentException("must be yes or no, not '" + text + "'");
        };
    }

    /** A non-negative number; {@code min}/{@code max} bound it where Postfix does. */
    static Parser<Long> number(long min, long max) {
        return (text, where) -> {
            long v;
            try {
                v = Long.parseLong(text.strip());
            } catch (NumberFormatException e) {
                v = -1;
                if (min >= 0) {
                    throw new IllegalArgumentException("must be a non-negative number, not '" + text + "'");
                }
            }
            if (v < min || v > max) {
                throw new IllegalArgumentException(v < 0 ? "must be a non-negative number, not '" + text + "'"
                        : "must be from " + min + " to " + max + ", not " + v);
            }
            return v;
        };
    }

    static Parser<Integer> count(int min, int max) {
        Parser<Long> n = number(min, max);
        return (text, where) -> n.parse(text, where).intValue();
    }

    /** Postfix's time syntax ({@code 300s}, {@code 5m}, {@code 5d}); a bare number is in {@code unit}. */
    static Parser<Duration> duration(char unit) {
        return (text, where) -> Durations.parse(text, unit, where);
    }
}
