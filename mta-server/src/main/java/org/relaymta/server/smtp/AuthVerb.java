package org.relaymta.server.smtp;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * AUTH PLAIN and LOGIN (RFC 4954), with their 334 exchanges; the password check runs off the event
 * loop ({@link SmtpSession#verify}). Only over TLS when TLS is available (Postfix's
 * {@code smtpd_tls_auth_only}); refused with {@code 421} while the client's failure budget is spent.
 */
final class AuthVerb implements Verb {
    private final AccountAuthenticator authenticator;

    AuthVerb(AccountAuthenticator authenticator) {
        this.authenticator = authenticator;
    }

    static boolean offered(SmtpSession session) {
        return session.state().authUser() == null && (session.state().tls || !session.tlsAvailable());
    }

    @Override
    public void handle(SmtpSession session, String arg) {
        SessionState state = session.state();
        if (state.authUser() != null) {
            session.reply(503, "5.5.1 Error: already authenticated");
            return;
        }
        if (state.sender() != null) {
            session.reply(503, "5.5.1 Error: MAIL transaction in progress");
            return;
        }
        if (session.tlsAvailable() && !state.tls) {
            session.reply(538, "5.7.11 Encryption required for requested authentication mechanism");
            return;
        }
        if (!authenticator.mayTry(state.clientIp())) {
            refuse(session);
            return;
        }
        String[] words = arg.split("\\s+");
        String mechanism = words[0].toUpperCase(Locale.ROOT);
        String initial = words.length > 1 ? words[1] : null;
        switch (mechanism) {
            case "PLAIN" -> {
                if (initial == null) {
                    session.expectResponse((s, line) -> response(s, line, r -> plain(s, r)));
                    session.reply(334, "");
                } else {
                    plain(session, initial);
                }
            }
            case "LOGIN" -> {
                if (initial == null) {
                    session.expectResponse((s, line) -> response(s, line, encoded -> {
                        String user = decode(s, encoded);
                        if (user != null) {
                            askPassword(s, user);
                        }
                    }));
                    session.reply(334, "VXNlcm5hbWU6");
                } else {
                    String user = decode(session, initial);
                    if (user != null) {
                        askPassword(session, user);
                    }
                }
            }
            case "" -> session.reply(501, "5.5.4 Syntax: AUTH mechanism");
            default -> session.reply(504, "5.5.4 Unrecognized authentication type");
        }
    }

    /** The client's failures for the window are used up (over all its sessions): 421 and close. */
    private static void refuse(SmtpSession session) {
        SessionState state = session.state();
        session.closeWith("421 4.7.0 " + state.config().myhostname() + " Error: too many failed authentications from "
                + state.client() + "; try again later");
    }

    private void verify(SmtpSession session, String mechanism, String user, String password) {
        if (!authenticator.begin(session.state().clientIp())) {
            refuse(session);
            return;
        }
        session.verify(authenticator, mechanism, user, password);
    }

    /** One 334 response: "*" cancels; otherwise its base64 is decoded and handed on. */
    private static void response(SmtpSession session, String line, Consumer<String> next) {
        if (line.equals("*")) {
            session.reply(501, "5.7.0 Authentication aborted");
            return;
        }
        next.accept(line);
    }

    private void askPassword(SmtpSession session, String user) {
        session.expectResponse((s, line) -> response(s, line, encoded -> {
            String password = decode(s, encoded);
            if (password != null) {
                verify(s, "LOGIN", user, password);
            }
        }));
        session.reply(334, "UGFzc3dvcmQ6");
    }

    private void plain(SmtpSession session, String response) {
        String decoded = decode(session, response);
        if (decoded == null) {
            return;
        }
        String[] parts = decoded.split("\0", -1);
        if (parts.length != 3) {
            session.reply(501, "5.5.2 Invalid AUTH PLAIN response");
            return;
        }
        if (!parts[0].isEmpty() && !parts[0].equalsIgnoreCase(parts[1])) {
            // RFC 4616 authzid: acting for another identity. No account may (there are no master users), so it is
            // a failure like a wrong password, counted against the client; the identity is never echoed.
            SessionState state = session.state();
            if (!authenticator.begin(state.clientIp())) {
                refuse(session);
                return;
            }
            authenticator.refuseAuthorization(state.clientIp(), parts[0], parts[1]);
            session.reply(535, "5.7.8 Error: authentication failed: authorization identity not permitted");
            return;
        }
        verify(session, "PLAIN", parts[1], parts[2]);
    }

    /** The decoded text, or null after answering 501 for bad base64. */
    private static String decode(SmtpSession session, String base64) {
        try {
            return new String(Base64.getDecoder().decode(base64.strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            session.reply(501, "5.5.2 Cannot decode response");
            return null;
        }
    }
}
