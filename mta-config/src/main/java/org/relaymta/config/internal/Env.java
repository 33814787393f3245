package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.relaymta.config.ConfigException;

/**
 * Environment variables with docker-mailserver's {@code NAME__FILE} convention: when
 * {@code NAME__FILE} is set, the value of {@code NAME} is read from that file, keeping secrets out
 * of the process environment.
 */
public final class Env {
    private final Map<String, String> variables;

    public Env(Map<String, String> variables) {
        this.variables = Map.copyOf(variables);
    }

    public static Env system() {
        return new Env(System.getenv());
    }

    /** Files named by {@code NAME__FILE} variables, by variable name: watched for hot reload. */
    public Map<String, Path> secretFiles() {
        Map<String, Path> files = new TreeMap<>();
        variables.forEach((k, v) -> {
            if (k.endsWith("__FILE") && v != null && !v.isBlank()) {
                files.put(k, Path.of(v.strip()));
            }
        });
        return files;
    }

    /** The file {@code NAME__FILE} names, when the value of {@code name} comes from one. */
    public Optional<Path> fileOf(String name) {
        String fileName = variables.get(name + "__FILE");
        return fileName == null || fileName.isBlank() ? Optional.empty() : Optional.of(Path.of(fileName.strip()));
    }

    /** The variable's value, stripped; empty when unset or blank. */
    public Optional<String> get(String name) {
        String fileName = variables.get(name + "__FILE");
        if (fileName != null && !fileName.isBlank()) {
            if (variables.containsKey(name)) {
                throw new ConfigException(name, "both " + name + " and " + name + "__FILE are set; set only one");
            }
            Path file = Path.of(fileName.strip());
            try {
                String value = Files.readString(file, StandardCharsets.UTF_8).strip();
                return value.isEmpty() ? Optional.empty() : Optional.of(value);
            } catch (IOException e) {
                throw new ConfigException(name + "__FILE", "cannot read " + file + ": " + ConfigException.why(e), e);
            }
        }
        String value = variables.get(name);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(value.strip());
    }
}
