package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * Who may use which envelope sender on the listeners: Postfix's {@code smtpd_sender_restrictions}
 * (for every listener, as main.cf has it), docker-mailserver's {@code SPOOF_PROTECTION} (the
 * submission and smtps listeners, as DMS's {@code mua_sender_restrictions}), the
 * {@code smtpd_sender_login_maps} they consult, and {@code smtpd_sasl_authenticated_header}.
 *
 * @param logins             who owns which sender address
 * @param relay              the restrictions in order on the relay listener
 * @param submission         the restrictions in order on the submission and smtps listeners
 * @param authenticatedHeader whether {@code Received:} names the authenticated user
 */
public record SenderPolicy(SenderLogins logins, List<Restriction> relay, List<Restriction> submission,
                           boolean authenticatedHeader) {

    /** The restrictions this relay evaluates; Postfix's meaning, evaluated in order until one decides. */
    public enum Restriction {
        PERMIT, REJECT, PERMIT_MYNETWORKS, PERMIT_SASL_AUTHENTICATED,
        /** The client must be logged in as an owner of the sender when it is logged in or the sender has owners. */
        REJECT_SENDER_LOGIN_MISMATCH,
        /** A logged-in client must own the sender. */
        REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH,
        /** A logged-in client must own a sender that has owners (unknown senders pass). */
        REJECT_KNOWN_SENDER_LOGIN_MISMATCH,
        /** A client that is not logged in may not use a sender that has owners. */
        REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH;

        public String postfixName() {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean usesLogins() {
            return name().endsWith("_LOGIN_MISMATCH");
        }
    }

    public static SenderPolicy defaults() {
        return new SenderPolicy(SenderLogins.none(), List.of(), List.of(), true);
    }

    /**
     * Parses {@code smtpd_sender_restrictions}; restrictions Postfix has but this relay does not
     * evaluate are warned about (with the place) and skipped, a word that is no restriction is an error.
     */
    public static List<Restriction> parse(String value, String where, List<String> warnings) {
        List<Restriction> out = new ArrayList<>();
        String[] words = value.strip().split("[,\\s]+");
        for (int i = 0; i < words.length; i++) {
            String w = words[i].toLowerCase(Locale.ROOT);
            if (w.isEmpty()) {
                continue;
            }
            Optional<Restriction> r = Arrays.stream(Restriction.values()).filter(x -> x.postfixName().equals(w)).findFirst();
            if (r.isPresent()) {
                out.add(r.get());
            } else if (w.startsWith("check_") || w.startsWith("reject_") || w.startsWith("permit_") || w.startsWith("warn_")
                    || w.equals("defer") || w.equals("dunno") || w.startsWith("defer_")) {
                warnings.add(where + ": smtpd_sender_restrictions: '" + w + "' is not supported here and is skipped");
                if (w.startsWith("check_") && i + 1 < words.length && words[i + 1].indexOf(':') > 0) {
                    i++;   // its table
                }
            } else {
                throw new ConfigException(where, "smtpd_sender_restrictions: '" + words[i] + "' is not a restriction");
            }
        }
        return List.copyOf(out);
    }

    /** Whether any listener consults the login map (so a configured map matters). */
    public boolean checksLogins() {
        return relay.stream().anyMatch(Restriction::usesLogins) || submission.stream().anyMatch(Restriction::usesLogins);
    }
}
