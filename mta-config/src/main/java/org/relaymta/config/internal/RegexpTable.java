package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.relaymta.config.ConfigException;

/**
 * A Postfix {@code regexp:} or {@code pcre:} table read with Java regular expressions: one rule a
 * line, {@code /pattern/flags value} ({@code !/pattern/} for "does not match"), continuation lines
 * starting with whitespace, {@code #} comments; case-insensitive unless the {@code i} flag is given.
 * The first rule that matches gives its value, with {@code $1} or {@code ${1}} replaced by the groups.
 * What the value means is the caller's ({@link HeaderChecks} actions, {@link SenderLogins} owners).
 */
public final class RegexpTable {
    /** One rule as written: the value not yet substituted. */
    public record Rule(Pattern pattern, boolean negate, String value, String location) {
    }

    /** A rule that matched: its value with the groups put in, and where the rule was written. */
    public record Match(String value, String location) {
    }

    private final List<Rule> rules;

    private RegexpTable(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    public List<Rule> rules() {
        return rules;
    }

    /** The first rule that applies to {@code text}. */
    public Optional<Match> lookup(String text) {
        for (Rule r : rules) {
            Optional<Match> m = apply(r, text);
            if (m.isPresent()) {
                return m;
            }
        }
        return Optional.empty();
    }

    /** {@code rule} applied to {@code text}: its value with {@code $n} substituted, or empty when it does not apply. */
    public static Optional<Match> apply(Rule rule, String text) {
        Matcher m = rule.pattern().matcher(text);
        boolean found = m.find();
        if (found == rule.negate()) {
            return Optional.empty();
        }
        return Optional.of(new Match(rule.negate() ? rule.value() : substitute(rule.value(), m), rule.location()));
    }

    /** Reads a table file; errors name the file (by its name) and line. */
    public static RegexpTable read(Path file, String parameter) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), parameter + ": cannot read: " + ConfigException.why(e), e);
        }
        return parse(file.getFileName().toString(), lines);
    }

    public static RegexpTable parse(String name, List<String> lines) {
        List<Rule> rules = new ArrayList<>();
        String pending = null;
        int pendingLine = 0;
        for (int i = 0; i <= lines.size(); i++) {
            String raw = i < lines.size() ? lines.get(i) : null;
            if (raw != null && !raw.isBlank() && Character.isWhitespace(raw.charAt(0)) && pending != null
                    && !raw.strip().startsWith("#")) {
                pending = pending + " " + raw.strip();
                continue;
            }
            if (pending != null) {
                rules.add(rule(pending, name + ":" + pendingLine));
                pending = null;
            }
            if (raw == null || raw.isBlank() || raw.strip().startsWith("#")) {
                continue;
            }
            pending = raw.strip();
            pendingLine = i + 1;
        }
        return new RegexpTable(rules);
    }

    private static Rule rule(String line, String location) {
        boolean negate = line.startsWith("!");
        String rest = negate ? line.substring(1) : line;
        if (rest.toLowerCase(Locale.ROOT).startsWith("if ") || rest.equalsIgnoreCase("endif")) {
            throw new ConfigException(location, "if/endif blocks are not supported; write one rule per line");
        }
        if (rest.isEmpty()) {
            throw new ConfigException(location, "expected /pattern/ and a value");
        }
        char delimiter = rest.charAt(0);
        int end = closing(rest, delimiter);
        if (end < 0) {
            throw new ConfigException(location, "the pattern has no closing '" + delimiter + "'");
        }
        String regex = rest.substring(1, end);
        int afterFlags = end + 1;
        boolean caseInsensitive = true;
        int flags = 0;
        while (afterFlags < rest.length() && !Character.isWhitespace(rest.charAt(afterFlags))) {
            switch (rest.charAt(afterFlags)) {
                case 'i' -> caseInsensitive = !caseInsensitive;
                case 'm' -> flags |= Pattern.MULTILINE;
                case 'x' -> flags |= Pattern.COMMENTS;
                case 's' -> flags |= Pattern.DOTALL;
                default -> throw new ConfigException(location, "unknown flag '" + rest.charAt(afterFlags) + "' after the pattern");
            }
            afterFlags++;
        }
        if (caseInsensitive) {
            flags |= Pattern.CASE_INSENSITIVE;
        }
        try {
            return new Rule(Pattern.compile(regex, flags), negate, rest.substring(afterFlags).strip(), location);
        } catch (PatternSyntaxException e) {
            throw new ConfigException(location, "bad pattern /" + regex + "/: " + e.getDescription());
        }
    }

    private static int closing(String s, char delimiter) {
        for (int i = 1; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == delimiter) {
                return i;
            }
        }
        return -1;
    }

    private static String substitute(String text, Matcher m) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '$' && i + 1 < text.length() && Character.isDigit(text.charAt(i + 1))) {
                int g = text.charAt(++i) - '0';
                if (g <= m.groupCount() && m.group(g) != null) {
                    out.append(m.group(g));
                }
            } else if (c == '$' && i + 1 < text.length() && text.charAt(i + 1) == '{') {
                int close = text.indexOf('}', i);
                int g = close < 0 ? -1 : parseGroup(text.substring(i + 2, close));
                if (g >= 0 && g <= m.groupCount() && m.group(g) != null) {
                    out.append(m.group(g));
                }
                i = close < 0 ? text.length() : close;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static int parseGroup(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
