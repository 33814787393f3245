package org.relaymta.config.internal;

/**
 * Text from outside (addresses, host names from DNS, SMTP replies, header lines) made safe to put
 * into a log line, a metric label or an error message: nothing in it can end the line, start a
 * forged one or reorder what a reader sees. Line ends, tabs, other control characters, Unicode
 * format characters (bidirectional overrides, zero-width marks), line and paragraph separators and
 * unpaired surrogates are written as escapes ({@code \r}, {@code \n}, {@code \x1b}, {@code \u202e});
 * printable UTF-8 (an internationalised address) stays as it is. {@link #escape} also escapes
 * {@code "} and {@code \\}, for text shown between quotes; {@link #controls} leaves them, so that
 * applying it to text already escaped changes nothing (the log backend applies it to every value).
 */
public final class LogText {
    private LogText() {
    }

    /** Control and format characters escaped, and '"' and '\\': for a value shown in quotes. */
    public static String escape(String s) {
        return escape(s, true);
    }

    /** Control and format characters escaped; quotes and backslashes kept (idempotent). */
    public static String controls(String s) {
        return escape(s, false);
    }

    private static String escape(String s, boolean quotes) {
        if (s == null) {
            return "null";
        }
        int i = 0;
        while (i < s.length() && plain(s, i, quotes)) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (plain(s, i, quotes)) {
                b.append(c);
                continue;
            }
            switch (c) {
                case '\r' -> b.append("\\r");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x100) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(String.format("\\u%04x", (int) c));
                    }
                }
            }
        }
        return b.toString();
    }

    private static boolean plain(String s, int i, boolean quotes) {
        char c = s.charAt(i);
        if (c >= 0x20 && c < 0x7f) {
            return !quotes || (c != '"' && c != '\\');
        }
        if (c < 0xa0) {
            return false;   // C0, DEL, C1
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        if (Character.isLowSurrogate(c)) {
            return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
        }
        int type = Character.getType(c);
        return type != Character.FORMAT && type != Character.LINE_SEPARATOR && type != Character.PARAGRAPH_SEPARATOR
                && type != Character.UNASSIGNED && type != Character.PRIVATE_USE && c != 0xfffd;
    }
}
