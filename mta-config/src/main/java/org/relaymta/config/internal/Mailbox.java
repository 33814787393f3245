package org.relaymta.config.internal;

import java.net.IDN;
import java.util.Optional;

/**
 * RFC 5321 mailbox syntax ({@code Local-part "@" ( Domain / address-literal )}), with RFC 6531's
 * UTF-8 in local parts and domains: the one check for every address that enters the relay from
 * the library, {@code mta sendmail} and the tables. An address that passes can be written into an
 * SMTP command or a header line as it is: it holds no control character, no space outside a
 * quoted local part, and no angle bracket.
 *
 * <p>Deliberately lenient where real mail is: a dot-string may have empty atoms ({@code a..b@x},
 * which Postfix accepts too), and the 64-octet local-part limit is not enforced (SRS and VERP
 * addresses exceed it and are delivered every day).
 */
public final class Mailbox {
    /** RFC 5321 4.5.3.1.2. */
    static final int MAX_DOMAIN = 255;
    static final int MAX_LABEL = 63;
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

    private Mailbox() {
    }

    /** Whether {@code address} is a mailbox. */
    public static boolean valid(String address) {
        return problem(address).isEmpty();
    }

    /** What is wrong with {@code address} as a mailbox, or empty when nothing is. */
    public static Optional<String> problem(String address) {
        if (address == null || address.isEmpty()) {
            return Optional.of("empty address");
        }
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
                return Optional.of("control character " + LogText.escape(String.valueOf(c)) + " at position " + (i + 1));
            }
        }
        int at = localPartEnd(address);
        if (at < 0) {
            return Optional.of("no '@' and domain after the local part");
        }
        Optional<String> local = localPartProblem(address.substring(0, at));
        if (local.isPresent()) {
            return local;
        }
        return domainProblem(address.substring(at + 1));
    }

    /** The index of the '@' after the local part (a quoted local part may contain '@'), or -1. */
    private static int localPartEnd(String address) {
        if (address.startsWith("\"")) {
            for (int i = 1; i < address.length(); i++) {
                char c = address.charAt(i);
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    return i + 1 < address.length() && address.charAt(i + 1) == '@' ? i + 1 : -1;
                }
            }
            return -1;
        }
        return address.lastIndexOf('@');
    }

    private static Optional<String> localPartProblem(String local) {
        if (local.isEmpty()) {
            return Optional.of("empty local part");
        }
        if (local.startsWith("\"")) {
            // Quoted-string: qtextSMTP (printable but '"' and '\') or quoted-pairSMTP ('\' and printable).
            for (int i = 1; i < local.length() - 1; i++) {
                char c = local.charAt(i);
                if (c == '\\') {
                    i++;
                    if (i >= local.length() - 1) {
                        return Optional.of("quoted local part ends in a lone backslash");
                    }
                } else if (c == '"') {
                    return Optional.of("unescaped '\"' inside a quoted local part");
                }
            }
            return Optional.empty();
        }
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (!(atext(c) || c == '.')) {
                return Optional.of("'" + LogText.escape(String.valueOf(c)) + "' in the local part (quote it: \"...\"@domain)");
            }
        }
        return Optional.empty();
    }

    /** RFC 5322 atext, and RFC 6531's UTF8-non-ascii. */
    private static boolean atext(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ATEXT_SPECIALS.indexOf(c) >= 0
                || (c >= 0xa0 && !Character.isWhitespace(c) && Character.getType(c) != Character.FORMAT);
    }

    private static Optional<String> domainProblem(String domain) {
        if (domain.isEmpty()) {
            return Optional.of("empty domain");
        }
        if (domain.startsWith("[")) {
            return domain.endsWith("]") && addressLiteral(domain.substring(1, domain.length() - 1))
                    ? Optional.empty() : Optional.of("bad address literal '" + LogText.escape(domain) + "'");
        }
        String ascii = domain;
        if (!domain.chars().allMatch(c -> c < 0x80)) {
            try {
                // RFC 6531: a U-label domain is checked as the A-labels it stands for.
                ascii = IDN.toASCII(domain, IDN.ALLOW_UNASSIGNED);
            } catch (IllegalArgumentException e) {
                return Optional.of("domain '" + LogText.escape(domain) + "' is not a valid internationalised name");
            }
        }
        return Hostnames.problem(ascii).map(p -> "domain: " + p);
    }

    /** Dotted-quad IPv4, each part 0 to 255. */
    public static boolean ipv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9') || Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    /** RFC 4291 text: eight groups of 1 to 4 hex digits, one "::" for a run of zeros, an IPv4 tail allowed. */
    public static boolean ipv6(String text) {
        String hex = text;
        int lastColon = text.lastIndexOf(':');
        if (lastColon < 0) {
            return false;
        }
        if (text.indexOf('.') > lastColon) {
            // A dotted quad can only end the address; it stands for the last two groups.
            if (!ipv4(text.substring(lastColon + 1))) {
                return false;
            }
            hex = text.substring(0, lastColon + 1) + "0:0";
        }
        int doubleColon = hex.indexOf("::");
        if (doubleColon >= 0 && hex.indexOf("::", doubleColon + 1) >= 0) {
            return false;
        }
        int groups = 0;
        for (String part : doubleColon < 0 ? new String[] {hex} : new String[] {hex.substring(0, doubleColon), hex.substring(doubleColon + 2)}) {
            if (part.isEmpty()) {
                continue;
            }
            for (String g : part.split(":", -1)) {
                if (g.isEmpty() || g.length() > 4 || !g.chars().allMatch(Mailbox::hexDigit)) {
                    return false;
                }
                groups++;
            }
        }
        return doubleColon < 0 ? groups == 8 : groups < 8;
    }

    private static boolean hexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** IPv4, {@code IPv6:...} or a General-address-literal ({@code tag:content}). */
    private static boolean addressLiteral(String inside) {
        if (inside.isEmpty()) {
            return false;
        }
        if (inside.regionMatches(true, 0, "IPv6:", 0, 5)) {
            String v6 = inside.substring(5);
            return ipv6(inside.substring(5));
        }
        if (inside.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.')) {
            return ipv4(inside);
        }
        int colon = inside.indexOf(':');
        // General-address-literal: Standardized-tag ":" 1*dcontent (printable but '[', '\' and ']').
        return colon > 0 && colon < inside.length() - 1 && Hostnames.problem(inside.substring(0, colon)).isEmpty()
                && inside.substring(colon + 1).chars().allMatch(c -> c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']');
    }
}
