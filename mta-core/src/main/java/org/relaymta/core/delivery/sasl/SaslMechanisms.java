package org.relaymta.core.delivery.sasl;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.relaymta.config.Credentials;

/**
 * The client mechanisms this relay speaks, in order of preference, and the choice for one server:
 * the first that the server offers, that {@code smtp_sasl_mechanism_filter} allows (empty: all)
 * and that the credentials suit. Anonymous mechanisms are never used.
 */
public final class SaslMechanisms {
    private static final List<SaslMechanism> PREFERENCE = List.of(
            new PasswordMechanisms.Plain(), new PasswordMechanisms.Login(), new PasswordMechanisms.CramMd5());

    private SaslMechanisms() {
    }

    public static Optional<SaslMechanism> choose(List<String> offered, List<String> filter, Credentials credentials) {
        for (SaslMechanism m : PREFERENCE) {
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
