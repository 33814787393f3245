package org.relaymta.server.smtp;

import java.util.ArrayList;
import java.util.List;

/** EHLO and HELO: resets the transaction and, for EHLO, lists the extensions this session may use. */
final class HelloVerb implements Verb {
    private final boolean extended;

    HelloVerb(boolean extended) {
        this.extended = extended;
    }

    @Override
    public void handle(SmtpSession session, String arg) {
        SessionState state = session.state();
        if (arg.isEmpty()) {
            session.reply(501, "5.5.4 Syntax: " + (extended ? "EHLO" : "HELO") + " hostname");
            return;
        }
        state.resetTransaction();
        state.helo = arg;
        state.esmtp = extended;
        String hostname = state.config().myhostname();
        if (!extended) {
            session.reply(250, hostname);
            return;
        }
        List<String> lines = new ArrayList<>();
        lines.add(hostname);
        lines.add("PIPELINING");
        long limit = state.config().content().messageSizeLimit();
        lines.add(limit > 0 ? "SIZE " + limit : "SIZE");
        if (session.tlsAvailable() && !state.tls) {
            lines.add("STARTTLS");
        }
        if (AuthVerb.offered(session)) {
            lines.add("AUTH PLAIN LOGIN");
        }
        lines.add("ENHANCEDSTATUSCODES");
        lines.add("8BITMIME");
        lines.add("SMTPUTF8");
        if (state.tls) {
            // RFC 8689: only where the client can see it over TLS.
            lines.add("REQUIRETLS");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            sb.append("250").append(i == lines.size() - 1 ? ' ' : '-').append(lines.get(i)).append("\r\n");
        }
        session.write(sb.toString());
    }
}
