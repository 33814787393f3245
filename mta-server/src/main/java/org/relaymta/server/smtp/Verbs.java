package org.relaymta.server.smtp;

import java.util.List;
import java.util.Map;

/** The command table: one {@link Verb} per SMTP command, with the policy hooks the transaction verbs ask. */
final class Verbs {
    private Verbs() {
    }

    static Map<String, Verb> standard(AccountAuthenticator authenticator, SmtpReceiver receiver) {
        Verb notImplemented = (s, arg) -> s.reply(502, "5.5.1 Error: command not implemented");
        return Map.ofEntries(
                Map.entry("EHLO", new HelloVerb(true)),
                Map.entry("HELO", new HelloVerb(false)),
                Map.entry("MAIL", new MailVerb(List.of(new SubmissionGate(), new SenderLoginCheck(), new SpoolSpace(receiver)))),
                Map.entry("RCPT", new RcptVerb(List.of(new RecipientLimit(), new RelayAccess()))),
                Map.entry("DATA", new DataVerb()),
                Map.entry("BDAT", new BdatVerb()),
                Map.entry("STARTTLS", new StartTlsVerb()),
                Map.entry("AUTH", new AuthVerb(authenticator)),
                Map.entry("RSET", (s, arg) -> {
                    s.state().resetTransaction();
                    s.reply(250, "2.0.0 Ok");
                }),
                Map.entry("NOOP", (s, arg) -> s.reply(250, "2.0.0 Ok")),
                Map.entry("QUIT", (s, arg) -> s.closeWith("221 2.0.0 Bye")),
                Map.entry("VRFY", (s, arg) -> s.reply(252, "2.0.0 Cannot VRFY user; try RCPT to attempt delivery")),
                Map.entry("HELP", (s, arg) -> s.reply(214,
                        "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT STARTTLS AUTH VRFY HELP")),
                Map.entry("EXPN", notImplemented),
                Map.entry("ETRN", notImplemented),
                Map.entry("TURN", notImplemented));
    }
}
