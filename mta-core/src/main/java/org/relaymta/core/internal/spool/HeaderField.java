package org.relaymta.core.internal.spool;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One header field as it is in the message: its name and its raw bytes (the name, the colon, the
 * value and every continuation line, each with its CRLF).
 */
public record HeaderField(String name, byte[] raw) {

    /** The field name in lower case. */
    public String lowerName() {
        return name.toLowerCase(Locale.ROOT);
    }

    /** The value, unfolded, without the leading space (for matching and display). */
    public String value() {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        String v = text.substring(text.indexOf(':') + 1).replace("\r\n", "");
        return v.strip();
    }

    /** The field as one logical line: {@code Name: value} unfolded (what Postfix header_checks match). */
    public String logicalLine() {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        return text.replace("\r\n", "").stripTrailing();
    }

    /** Splits a CRLF-canonical header section (without the empty line that ends it) into fields. */
    public static List<HeaderField> parse(byte[] section, int length) {
        List<HeaderField> fields = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < length) {
            int eol = indexOfCrlf(section, i, length);
            int next = eol < 0 ? length : eol + 2;
            boolean continuation = next < length && (section[next] == ' ' || section[next] == '\t');
            if (!continuation) {
                addField(fields, section, start, next);
                start = next;
            }
            i = next;
        }
        if (start < length) {
            addField(fields, section, start, length);
        }
        return fields;
    }

    private static void addField(List<HeaderField> fields, byte[] section, int from, int to) {
        int colon = -1;
        for (int j = from; j < to; j++) {
            if (section[j] == ':') {
                colon = j;
                break;
            }
            if (section[j] == '\r') {
                break;
            }
        }
        String name = colon < 0 ? "" : new String(section, from, colon - from, StandardCharsets.ISO_8859_1).strip();
        byte[] raw = Arrays.copyOfRange(section, from, to);
        fields.add(new HeaderField(name, raw));
    }

    static int indexOfCrlf(byte[] b, int from, int to) {
        for (int j = from; j + 1 < to; j++) {
            if (b[j] == '\r' && b[j + 1] == '\n') {
                return j;
            }
        }
        return -1;
    }

    /**
     * RFC 6376 section 3.4.2, relaxed: the name in lower case, the value unfolded, runs of spaces and
     * tabs made one space, spaces around the colon and at the end removed; ends with CRLF.
     */
    public String relaxed() {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int colon = text.indexOf(':');
        String value = text.substring(colon + 1).replace("\r\n", "");
        return lowerName() + ":" + collapse(value).strip() + "\r\n";
    }

    static String collapse(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean space = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t') {
                space = true;
            } else {
                if (space) {
                    out.append(' ');
                    space = false;
                }
                out.append(c);
            }
        }
        if (space) {
            out.append(' ');
        }
        return out.toString();
    }
}
