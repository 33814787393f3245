package org.relaymta.core.internal.delivery.sasl;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import org.relaymta.config.internal.Credentials;

/**
 * The client mechanisms this relay speaks, in order of preference, and the choice for one server:
 * the first that the server offers, that {@code smtp_sasl_mechanism_filter} allows (empty: all)
 * and that the credentials suit. Anonymous mechanisms are never used.
 */
public final class SaslMechanisms {
    private static final List<SaslMechanism> PREFERENCE = List.of(
            new PasswordMechanisms.Plain(), new PasswordMechanisms.Login(), new PasswordMechanisms.CramMd5());

    private final List<SaslMechanism> preference;

    /**
     * The bearer-token mechanisms first (they only suit {@code {oauth2}} credentials), then the
     * password ones. {@code tokens}: profile to its current access token, or null.
     */
    public SaslMechanisms(Function<String, String> tokens) {
        List<SaslMechanism> all = new ArrayList<>();
        all.add(new OAuth2Mechanisms.XOAuth2(tokens));
        all.add(new OAuth2Mechanisms.OAuthBearer(tokens));
        all.addAll(PREFERENCE);
        this.preference = List.copyOf(all);
    }

    /** As {@link #choose}, with the bearer-token mechanisms too. */
    public Optional<SaslMechanism> pick(List<String> offered, List<String> filter, Credentials credentials) {
        return choose(preference, offered, filter, credentials);
    }

    /** The password mechanisms only. */
    public static Optional<SaslMechanism> choose(List<String> offered, List<String> filter, Credentials credentials) {
        return choose(PREFERENCE, offered, filter, credentials);
    }

    private static Optional<SaslMechanism> choose(List<SaslMechanism> preference, List<String> offered, List<String> filter,
                                                  Credentials credentials) {
        for (SaslMechanism m : preference) {
            if (offered.contains(m.name()) && (filter.isEmpty() || filter.contains(m.name()))
                    && m.supports(credentials)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** The mechanism called {@code name}, if this relay speaks it. */
    public static Optional<SaslMechanism> named(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        return PREFERENCE.stream().filter(m -> m.name().equals(n)).findFirst();
    }
}
