package org.relaymta.config;

/**
 * A configuration input is invalid. The message always names where the bad value came from:
 * an environment variable, or a file and line number.
 */
public class ConfigException extends RuntimeException {
    private final String source;

    public ConfigException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
    }

    public ConfigException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
    }

    /** Where the bad input is, for example {@code postfix-relaymap.cf:12} or {@code RELAY_PORT}. */
    public String source() {
        return source;
    }
}
