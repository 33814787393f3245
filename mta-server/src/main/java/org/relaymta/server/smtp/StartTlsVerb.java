package org.relaymta.server.smtp;

/** STARTTLS: answered 220, then the TLS handler goes in before any further byte is read. */
final class StartTlsVerb implements Verb {
    @Override
    public void handle(SmtpSession session, String arg) {
        if (!arg.isEmpty()) {
            session.reply(501, "5.5.4 Syntax: STARTTLS");
        } else if (!session.tlsAvailable()) {
            session.reply(454, "4.7.0 TLS not available");
        } else if (session.state().tls) {
            session.reply(554, "5.5.1 Error: TLS already active");
        } else {
            session.startTls();
        }
    }
}
