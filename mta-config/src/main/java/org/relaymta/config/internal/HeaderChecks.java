package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.relaymta.config.ConfigException;

/**
 * Postfix {@code header_checks} / {@code smtp_header_checks}: {@code regexp:} and {@code pcre:}
 * tables ({@code /pattern/flags ACTION text}, {@code !/pattern/} for "does not match", {@code $1}
 * in the text), matched with Java regular expressions against each logical header line
 * ({@code Name: value}, continuation lines joined). The first matching rule of the first table
 * that has one decides. Case-insensitive unless the {@code i} flag is given, as in Postfix.
 */
public final class HeaderChecks {
    /** Postfix's header_checks actions that this relay implements. */
    public enum Action { IGNORE, REPLACE, PREPEND, WARN, HOLD, REJECT, DISCARD, DUNNO, OK }

    /** The actions {@code smtp_header_checks} allows: none that change when or where mail goes. */
    public static final Set<Action> DELIVERY_ACTIONS = Set.of(Action.IGNORE, Action.REPLACE, Action.PREPEND, Action.WARN,
            Action.DUNNO, Action.OK);

    /** What a rule decided for one header line. */
    public record Result(Action action, String text, String location) {
    }

    private record Rule(Pattern pattern, boolean negate, Action action, String text, String location) {
    }

    private final List<Rule> rules;
    private final List<Path> sources;

    private HeaderChecks(List<Rule> rules, List<Path> sources) {
        this.rules = List.copyOf(rules);
        this.sources = List.copyOf(sources);
    }

    public static HeaderChecks none() {
        return new HeaderChecks(List.of(), List.of());
    }

    public boolean isEmpty() {
        return rules.isEmpty();
    }

    public List<Path> sources() {
        return sources;
    }

    /** The first rule that applies to {@code line}, with {@code $n} replaced by its groups. */
    public Optional<Result> match(String line) {
        for (Rule r : rules) {
            Matcher m = r.pattern().matcher(line);
            boolean found = m.find();
            if (found != r.negate()) {
                String text = r.negate() ? r.text() : substitute(r.text(), m);
                return Optional.of(new Result(r.action(), text, r.location()));
            }
        }
        return Optional.empty();
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

    /**
     * The tables a {@code header_checks}-style parameter names ({@code regexp:/path, pcre:/path}),
     * each file found as written or, for docker-mailserver's container paths, by its name in the
     * config directory. {@code allowed} limits the actions (smtp_header_checks).
     */
    public static HeaderChecks load(String parameter, String value, String where, Path configDir, Set<Action> allowed) {
        List<Rule> rules = new ArrayList<>();
        List<Path> sources = new ArrayList<>();
        for (String table : value.split("[,\\s]+")) {
            if (table.isBlank()) {
                continue;
            }
            int colon = table.indexOf(':');
            String type = colon < 0 ? "" : table.substring(0, colon).toLowerCase(Locale.ROOT);
            if (!type.equals("regexp") && !type.equals("pcre")) {
                throw new ConfigException(where, parameter + ": '" + table + "' is not a regexp: or pcre: table");
            }
            Path file = tableFile(configDir, table.substring(colon + 1));
            sources.add(file);
            rules.addAll(read(file, allowed, parameter));
        }
        return new HeaderChecks(rules, sources);
    }

    static Path tableFile(Path configDir, String written) {
        Path p = Path.of(written);
        if (p.isAbsolute() && Files.exists(p)) {
            return p;
        }
        return p.isAbsolute() ? configDir.resolve(p.getFileName()) : configDir.resolve(p);
    }

    private static List<Rule> read(Path file, Set<Action> allowed, String parameter) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), parameter + ": cannot read: " + ConfigException.why(e), e);
        }
        String name = file.getFileName().toString();
        List<Rule> rules = new ArrayList<>();
        String pending = null;
        int pendingLine = 0;
        for (int i = 0; i <= lines.size(); i++) {
            String raw = i < lines.size() ? lines.get(i) : null;
            if (raw != null && !raw.isBlank() && Character.isWhitespace(raw.charAt(0)) && pending != null) {
                pending = pending + " " + raw.strip();
                continue;
            }
            if (pending != null) {
                rules.add(rule(pending, name + ":" + pendingLine, allowed));
                pending = null;
            }
            if (raw == null || raw.isBlank() || raw.strip().startsWith("#")) {
                continue;
            }
            pending = raw.strip();
            pendingLine = i + 1;
        }
        return rules;
    }

    private static Rule rule(String line, String location, Set<Action> allowed) {
        boolean negate = line.startsWith("!");
        String rest = negate ? line.substring(1) : line;
        if (rest.toLowerCase(Locale.ROOT).startsWith("if ") || rest.equalsIgnoreCase("endif")) {
            throw new ConfigException(location, "if/endif blocks are not supported; write one rule per line");
        }
        if (rest.isEmpty()) {
            throw new ConfigException(location, "expected /pattern/ ACTION");
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
        String actionText = rest.substring(afterFlags).strip();
        int ws = PostfixTable.indexOfWhitespace(actionText);
        String actionName = (ws < 0 ? actionText : actionText.substring(0, ws)).toUpperCase(Locale.ROOT);
        String text = ws < 0 ? "" : actionText.substring(ws).strip();
        Action action;
        try {
            action = Action.valueOf(actionName);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(location, "'" + actionName + "' is not an action (IGNORE, REPLACE, PREPEND, WARN, HOLD, "
                    + "REJECT, DISCARD, DUNNO, OK)");
        }
        if (!allowed.contains(action)) {
            throw new ConfigException(location, action + " is not available here (smtp_header_checks: IGNORE, REPLACE, "
                    + "PREPEND, WARN, DUNNO, OK)");
        }
        if ((action == Action.REPLACE || action == Action.PREPEND) && !text.contains(":")) {
            throw new ConfigException(location, action + " needs a header line, like '" + action + " X-Name: value'");
        }
        try {
            return new Rule(Pattern.compile(regex, flags), negate, action, text, location);
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
}
