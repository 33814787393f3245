package org.relaymta.server.smtp;

import java.util.ArrayList;
import java.util.List;

/**
 * The argument of {@code MAIL FROM:} or {@code RCPT TO:}: the address without angle brackets or
 * source route, and the ESMTP parameters. Quoted local parts ({@code <"a b"@c.test>}) are kept
 * intact; so are address literals ({@code user@[192.0.2.1]}).
 */
record MailPath(String address, List<String> parameters) {

    /** Parses {@code arg} after {@code keyword} ("FROM:" or "TO:"), or returns null when it is not a path. */
    static MailPath parse(String arg, String keyword) {
        if (arg.length() < keyword.length() || !arg.regionMatches(true, 0, keyword, 0, keyword.length())) {
            return null;
        }
        String rest = arg.substring(keyword.length()).stripLeading();
        String address;
        String params;
        if (rest.startsWith("<")) {
            int close = closingBracket(rest);
            if (close < 0) {
                return null;
            }
            address = rest.substring(1, close);
            params = rest.substring(close + 1);
            if (!params.isEmpty() && params.charAt(0) != ' ') {
                return null;
            }
        } else {
            // Without brackets, as Postfix accepts with strict_rfc821_envelopes = no.
            int sp = rest.indexOf(' ');
            address = sp < 0 ? rest : rest.substring(0, sp);
            params = sp < 0 ? "" : rest.substring(sp);
            if (address.isEmpty()) {
                return null;
            }
        }
        if (address.startsWith("@")) {
            // A source route (<@a,@b:user@c>) is obsolete; RFC 5321 says use the mailbox.
            int colon = address.indexOf(':');
            address = colon < 0 ? address : address.substring(colon + 1);
        }
        List<String> parameters = new ArrayList<>();
        for (String p : params.strip().split(" +")) {
            if (!p.isEmpty()) {
                parameters.add(p);
            }
        }
        return new MailPath(address, List.copyOf(parameters));
    }

    /**
     * No control characters anywhere, and spaces only inside a quoted local part: such bytes could
     * forge log lines or headers. Anything else is the next hop's business.
     */
    static boolean plausible(String address) {
        if (address.isEmpty()) {
            return false;
        }
        boolean quoted = false;
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return false;
            }
            if (c == '\\' && quoted) {
                i++;
                if (i < address.length() && (address.charAt(i) < 0x20 || address.charAt(i) == 0x7f)) {
                    return false;
                }
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ' ' && !quoted) {
                return false;
            }
        }
        return !quoted;
    }

    /** A mailbox: plausible, with a non-empty local part and domain around the last '@'. */
    static boolean mailbox(String address) {
        int at = address.lastIndexOf('@');
        return plausible(address) && at > 0 && at < address.length() - 1;
    }

    /** The '>' that ends the path, skipping quoted local parts ({@code <"a>b"@c>}). */
    private static int closingBracket(String s) {
        boolean quoted = false;
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && quoted) {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == '>' && !quoted) {
                return i;
            }
        }
        return -1;
    }
}
