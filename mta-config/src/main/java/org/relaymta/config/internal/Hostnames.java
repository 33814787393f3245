package org.relaymta.config.internal;

import java.util.Optional;

/**
 * Host name syntax as Postfix's {@code valid_hostname()} has it (RFC 1035 with the underscore real
 * names use): labels of letters, digits, '-' and '_', each 1 to 63 octets and not starting or
 * ending with '-', at most 255 octets in all, and not all digits (that is an address). Every name
 * from DNS passes here before it is connected to, logged or used as a label.
 */
public final class Hostnames {
    private Hostnames() {
    }

    public static boolean valid(String name) {
        return problem(name).isEmpty();
    }

    /** What is wrong with {@code name} (without a trailing dot), or empty. */
    public static Optional<String> problem(String name) {
        if (name == null || name.isEmpty()) {
            return Optional.of("empty name");
        }
        if (name.length() > Mailbox.MAX_DOMAIN) {
            return Optional.of("longer than " + Mailbox.MAX_DOMAIN + " characters");
        }
        boolean numeric = true;
        int labelStart = 0;
        for (int i = 0; i <= name.length(); i++) {
            char c = i < name.length() ? name.charAt(i) : '.';
            if (c == '.') {
                int length = i - labelStart;
                if (length == 0) {
                    return Optional.of("empty label in '" + LogText.escape(name) + "'");
                }
                if (length > Mailbox.MAX_LABEL) {
                    return Optional.of("label longer than " + Mailbox.MAX_LABEL + " characters");
                }
                if (name.charAt(labelStart) == '-' || name.charAt(i - 1) == '-') {
                    return Optional.of("label starts or ends with '-' in '" + LogText.escape(name) + "'");
                }
                labelStart = i + 1;
            } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_') {
                numeric = false;
            } else if (c < '0' || c > '9') {
                return Optional.of("'" + LogText.escape(String.valueOf(c)) + "' in '" + LogText.escape(name) + "'");
            }
        }
        return numeric ? Optional.of("numeric name '" + name + "' (an address belongs in brackets)") : Optional.empty();
    }
}
