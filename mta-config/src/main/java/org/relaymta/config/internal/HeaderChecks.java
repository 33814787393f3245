package org.relaymta.config.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
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

    private record Rule(RegexpTable.Rule rule, Action action, String text) {
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
            // The action word carries no groups; what follows it may ("REPLACE X-Was: $1").
            Optional<RegexpTable.Match> m = RegexpTable.apply(new RegexpTable.Rule(r.rule().pattern(), r.rule().negate(),
                    r.text(), r.rule().location()), line);
            if (m.isPresent()) {
                return Optional.of(new Result(r.action(), m.get().value(), r.rule().location()));
            }
        }
        return Optional.empty();
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
        List<Rule> rules = new ArrayList<>();
        for (RegexpTable.Rule r : RegexpTable.read(file, parameter).rules()) {
            rules.add(rule(r, allowed));
        }
        return rules;
    }

    private static Rule rule(RegexpTable.Rule r, Set<Action> allowed) {
        String location = r.location();
        if (r.value().isEmpty()) {
            throw new ConfigException(location, "expected /pattern/ ACTION");
        }
        String actionText = r.value();
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
        return new Rule(r, action, text);
    }
}
