package org.relaymta.config.internal;

import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * A SASL user name and password for a relay host. {@link #toString()} never shows the password,
 * so a credentials object can be logged or printed by accident without leaking it.
 *
 * @param username the SASL user name
 * @param password the secret; never log it
 * @param key      the table key or variable that supplied these credentials
 */
public record Credentials(String username, String password, String key) {

    /** Splits a {@code username:password} table value at the first colon (passwords may contain ':'). */
    public static Credentials parse(String value, String key, String where) {
        if (value.isEmpty()) {
            // "user:password" alone on a line is read as a key without a value: never echo it.
            throw new ConfigException(where, "the line has no key: write 'KEY username:password' (a sender, @domain or"
                    + " relay host, then the credentials); the line is not shown, as it may hold a password");
        }
        int colon = value.indexOf(':');
        if (colon <= 0) {
            throw new ConfigException(where, "credentials for '" + key + "' must be written as username:password");
        }
        return new Credentials(value.substring(0, colon), value.substring(colon + 1), key);
    }

    /** A password written this way names an OAuth2 profile of oauth2-clients.cf instead. */
    public static final String OAUTH2_PREFIX = "{oauth2}";

    /** The OAuth2 profile the password names ({@code {oauth2}NAME}), or empty for a plain password. */
    public Optional<String> oauth2Profile() {
        return password.startsWith(OAUTH2_PREFIX)
                ? Optional.of(password.substring(OAUTH2_PREFIX.length()).strip()) : Optional.empty();
    }

    @Override
    public String toString() {
        return "Credentials[username=" + username + ", password=****, key=" + key + "]";
    }
}
