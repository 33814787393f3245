package org.relaymta.config.internal;

import java.util.function.BiConsumer;

/** The rows of a line-oriented rule file ({@code bounce-classes.cf}, {@code relay-shaping.cf}): blank lines and comments skipped. */
final class TableRows {
    private TableRows() {
    }

    /** Calls {@code row} with each row (stripped) and where it stands ({@code source:line}), in order. */
    static void forEach(String text, String source, BiConsumer<String, String> row) {
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (!line.isEmpty() && !line.startsWith("#")) {
                row.accept(line, source + ":" + (i + 1));
            }
        }
    }
}
