package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.relaymta.config.ConfigException;

/**
 * Postfix {@code main.cf} syntax: {@code name = value}, {@code #} comments, continuation lines that
 * start with whitespace. A later definition of a parameter wins, as in Postfix.
 */
public final class MainCf {

    /** One parameter and the line it was set on. */
    public record Parameter(String name, String value, String location) {
    }

    private final Map<String, Parameter> parameters;

    private MainCf(Map<String, Parameter> parameters) {
        this.parameters = parameters;
    }

    public static MainCf empty() {
        return new MainCf(new LinkedHashMap<>());
    }

    public static MainCf read(Path file) {
        try {
            return parse(file.getFileName().toString(), Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + ConfigException.why(e), e);
        }
    }

    public static MainCf parse(String fileName, List<String> lines) {
        return parse(fileName, lines, false);
    }

    /**
     * {@code secrets}: the file holds secrets (oauth2-clients.cf): names may be dotted
     * ({@code PROFILE.key}) and a malformed line is never echoed in the error.
     */
    static MainCf parse(String fileName, List<String> lines, boolean secrets) {
        Map<String, Parameter> params = new LinkedHashMap<>();
        String name = null;
        StringBuilder value = null;
        int startLine = 0;
        for (int i = 0; i < lines.size(); i++) {
            String raw = lines.get(i);
            String stripped = raw.strip();
            if (stripped.isEmpty() || stripped.startsWith("#")) {
                continue;
            }
            if (Character.isWhitespace(raw.charAt(0))) {
                if (name == null) {
                    throw new ConfigException(fileName + ":" + (i + 1), "continuation line without a preceding parameter");
                }
                value.append(' ').append(stripped);
                continue;
            }
            if (name != null) {
                put(params, name, value, fileName, startLine, secrets);
            }
            int eq = stripped.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException(fileName + ":" + (i + 1), secrets
                        ? "expected 'name = value' (the line is not shown, as it may hold a secret)"
                        : "expected 'name = value', got '" + stripped + "'");
            }
            name = stripped.substring(0, eq).strip();
            if (!name.matches(secrets ? "[A-Za-z0-9_-]+\\.[A-Za-z0-9_]+" : "[A-Za-z0-9_]+")) {
                throw new ConfigException(fileName + ":" + (i + 1), secrets
                        ? "invalid name '" + name + "': write PROFILE.key = value"
                        : "invalid parameter name '" + name + "'");
            }
            value = new StringBuilder(stripped.substring(eq + 1).strip());
            startLine = i + 1;
        }
        if (name != null) {
            put(params, name, value, fileName, startLine, secrets);
        }
        return new MainCf(params);
    }

    private static void put(Map<String, Parameter> params, String name, StringBuilder value, String fileName, int line,
                            boolean secrets) {
        Parameter earlier = params.get(name);
        if (secrets && earlier != null) {
            // A later line silently winning in a file of credentials is more often a mistake than intended.
            throw new ConfigException(fileName + ":" + line, name + " is set twice (first at " + earlier.location() + ")");
        }
        params.put(name, new Parameter(name, value.toString().strip(), fileName + ":" + line));
    }

    public Parameter get(String name) {
        return parameters.get(name);
    }

    public Map<String, Parameter> parameters() {
        return parameters;
    }
}
