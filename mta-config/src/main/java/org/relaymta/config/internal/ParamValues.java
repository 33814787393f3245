package org.relaymta.config.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * The values of the {@link Params} settings in force, and where each came from: a line of
 * {@code postfix-main.cf}, an environment variable (or the file its {@code NAME__FILE} names), a
 * value an application gave ({@code RelaySettings}), or the default. A
 * setting both main.cf and a variable can set takes the one its {@link Param.Precedence} names.
 */
public final class ParamValues {
    /** Where a setting's value came from, for {@code mta config} and error messages. */
    public record Origin(String text, String source, boolean explicit) {
    }

    private final MainCf main;
    private final Env env;
    private final Map<Param<?>, Object> given;
    private final Map<Param<?>, Object> parsed = new HashMap<>();

    private ParamValues(MainCf main, Env env, Map<Param<?>, Object> given) {
        this.main = main;
        this.env = env;
        this.given = given;
    }

    /** Values from {@code postfix-main.cf} and the environment. */
    public static ParamValues of(MainCf main, Env env) {
        return new ParamValues(main, env, Map.of());
    }

    /** Values an application gave as Java values; everything else at its default. */
    public static ParamValues given(Map<Param<?>, Object> values) {
        return new ParamValues(MainCf.empty(), new Env(Map.of()), Map.copyOf(values));
    }

    /** The text in force for {@code p}, if it was set (main.cf even when empty, a variable when not blank). */
    public Optional<Origin> origin(Param<?> p) {
        if (given.containsKey(p)) {
            return Optional.of(new Origin(String.valueOf(given.get(p)), "the application's settings", true));
        }
        MainCf.Parameter m = p.inMainCf() ? main.get(p.name()) : null;
        Optional<Origin> fromMain = m == null ? Optional.empty() : Optional.of(new Origin(m.value(), m.location(), true));
        Optional<Origin> fromEnv = p.variable().flatMap(v -> env.get(v).map(value -> new Origin(value,
                env.fileOf(v).map(f -> "environment, read from " + f + " (" + v + "__FILE)").orElse("environment"), true)));
        return p.precedence() == Param.Precedence.MAIN_CF ? fromMain.or(() -> fromEnv) : fromEnv.or(() -> fromMain);
    }

    /** The name {@code p} was set by: its variable when the environment set it, else its main.cf name. */
    public String nameSetBy(Param<?> p) {
        return origin(p).filter(o -> o.source().startsWith("environment")).flatMap(o -> p.variable()).orElse(p.name());
    }

    /** Whether {@code p} was set at all. */
    public boolean isSet(Param<?> p) {
        return origin(p).isPresent();
    }

    /** The value set for {@code p}, parsed; empty when it was not set (or set to nothing, for text that means off). */
    @SuppressWarnings("unchecked")
    public <T> Optional<T> explicit(Param<T> p) {
        if (given.containsKey(p)) {
            return Optional.of((T) given.get(p));
        }
        Optional<Origin> o = origin(p);
        if (o.isEmpty() || (o.get().text().isEmpty() && p.isText())) {
            return Optional.empty();
        }
        return Optional.of((T) parsed.computeIfAbsent(p, k -> p.parse(o.get().text(), where(p))));
    }

    /** The value in force: the one set, else the default (a setting whose default is derived has no value here). */
    public <T> T get(Param<T> p) {
        Optional<T> set = explicit(p);
        if (set.isPresent()) {
            return set.get();
        }
        if (!p.defaultIsValue()) {
            throw new IllegalStateException(p.name() + " has a derived default: ask explicit() and derive it");
        }
        return p.parse(p.defaultText(), "the default of " + p.name());
    }

    /** Where {@code p} was set, for an error: the file and line, the variable, or the parameter's name. */
    public String where(Param<?> p) {
        return origin(p).map(Origin::source).map(s -> s.startsWith("environment") ? p.variable().orElse(p.name()) : s)
                .orElse(p.name());
    }

    /** The raw main.cf parameters, for the ones this relay does not know. */
    MainCf mainCf() {
        return main;
    }

    /** An error about {@code p}'s value, placed where it was set. */
    public ConfigException error(Param<?> p, String problem) {
        return new ConfigException(where(p), problem);
    }
}
