package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * A Postfix "texthash" lookup table: {@code KEY whitespace VALUE} per line, {@code #} comments,
 * continuation lines starting with whitespace, case-insensitive keys. A key without a value is kept
 * with an empty value (the relay map's opt-out line). Duplicate keys are rejected, naming both lines.
 */
public final class PostfixTable {

    /** One table entry and where it was written. */
    public record Entry(String key, String value, String fileName, int line) {
        public String location() {
            return fileName + ":" + line;
        }
    }

    private final String fileName;
    private final Map<String, Entry> entries;

    private PostfixTable(String fileName, Map<String, Entry> entries) {
        this.fileName = fileName;
        this.entries = Collections.unmodifiableMap(entries);
    }

    public static PostfixTable empty(String fileName) {
        return new PostfixTable(fileName, new LinkedHashMap<>());
    }

    public static PostfixTable read(Path file) {
        return read(file, false);
    }

    /**
     * As {@link #read(Path)}; with {@code joinDuplicates} a key written twice gets both values,
     * comma-separated, instead of an error (docker-mailserver's alias file, where each line adds a target).
     */
    public static PostfixTable read(Path file, boolean joinDuplicates) {
        String name = file.getFileName().toString();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + ConfigException.why(e), e);
        }
        return parse(name, lines, joinDuplicates);
    }

    public static PostfixTable parse(String fileName, List<String> lines) {
        return parse(fileName, lines, false);
    }

    private static PostfixTable parse(String fileName, List<String> lines, boolean joinDuplicates) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        String pendingKey = null;
        StringBuilder pendingValue = null;
        int pendingLine = 0;
        for (int i = 0; i < lines.size(); i++) {
            String raw = lines.get(i);
            int lineNo = i + 1;
            String stripped = raw.strip();
            if (stripped.isEmpty() || stripped.startsWith("#")) {
                continue;
            }
            if (Character.isWhitespace(raw.charAt(0))) {
                if (pendingKey == null) {
                    throw new ConfigException(fileName + ":" + lineNo, "continuation line without a preceding entry");
                }
                if (pendingValue.length() > 0) {
                    pendingValue.append(' ');
                }
                pendingValue.append(stripped);
                continue;
            }
            if (pendingKey != null) {
                put(entries, fileName, pendingKey, pendingValue.toString(), pendingLine, joinDuplicates);
            }
            int ws = indexOfWhitespace(stripped);
            pendingKey = ws < 0 ? stripped : stripped.substring(0, ws);
            pendingValue = new StringBuilder(ws < 0 ? "" : stripped.substring(ws).strip());
            pendingLine = lineNo;
        }
        if (pendingKey != null) {
            put(entries, fileName, pendingKey, pendingValue.toString(), pendingLine, joinDuplicates);
        }
        return new PostfixTable(fileName, entries);
    }

    private static void put(Map<String, Entry> entries, String fileName, String key, String value, int line,
                            boolean joinDuplicates) {
        String normalized = key.toLowerCase(Locale.ROOT);
        Entry previous = entries.get(normalized);
        if (previous != null && joinDuplicates) {
            entries.put(normalized, new Entry(previous.key(), previous.value() + ", " + value, fileName, previous.line()));
            return;
        }
        if (previous != null) {
            throw new ConfigException(fileName + ":" + line, "duplicate key '" + key + "' (first defined at line "
                    + previous.line() + ")");
        }
        entries.put(normalized, new Entry(key, value, fileName, line));
    }

    static int indexOfWhitespace(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isWhitespace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    public Optional<Entry> lookup(String key) {
        return Optional.ofNullable(entries.get(key.toLowerCase(Locale.ROOT)));
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public String fileName() {
        return fileName;
    }

    public int size() {
        return entries.size();
    }
}
