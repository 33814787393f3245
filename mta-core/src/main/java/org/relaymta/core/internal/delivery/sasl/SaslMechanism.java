package org.relaymta.core.internal.delivery.sasl;

import org.relaymta.config.internal.Credentials;

/**
 * One SASL client mechanism (RFC 4422) as the SMTP client runs it (RFC 4954): an optional initial
 * response sent with {@code AUTH NAME}, then one answer per {@code 334} challenge. Answers and
 * challenges are the base64 text of the SMTP lines. New mechanisms (XOAUTH2, OAUTHBEARER) are new
 * implementations registered in {@link SaslMechanisms}; the SMTP conversation does not change.
 */
public interface SaslMechanism {

    /** The name the server lists after {@code AUTH} in its EHLO reply, upper case. */
    String name();

    /** Whether these credentials can be used with this mechanism (a password, or a token source). */
    boolean supports(Credentials credentials);

    /** Starts an exchange for one authentication. */
    Exchange start(Credentials credentials, SaslTarget target);

    /** One authentication in progress: holds what the mechanism needs between rounds. */
    interface Exchange {
        /** The initial response (base64) to send as {@code AUTH NAME response}, or null to wait for a challenge. */
        String initialResponse();

        /**
         * The answer (base64, possibly empty) to a {@code 334} challenge ({@code challenge} is the
         * base64 text after "334 "). {@code "*"} cancels the exchange (RFC 4954).
         */
        String respond(String challenge);
    }
}
