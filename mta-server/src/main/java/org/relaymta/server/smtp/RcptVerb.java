package org.relaymta.server.smtp;

import java.util.List;

/** RCPT TO: the path (a mailbox, no parameters), then the RCPT hooks (limits, relay access). */
final class RcptVerb implements Verb {
    private final List<RcptHook> hooks;

    RcptVerb(List<RcptHook> hooks) {
        this.hooks = hooks;
    }

    @Override
    public void handle(SmtpSession session, String arg) {
        SessionState state = session.state();
        if (state.sender() == null) {
            session.reply(503, "5.5.1 Error: need MAIL command");
            return;
        }
        MailPath path = MailPath.parse(arg, "TO:");
        if (path == null) {
            session.reply(501, "5.5.4 Syntax: RCPT TO:<address>");
            return;
        }
        String address = path.address();
        if (!MailPath.mailbox(address)) {
            session.reply(501, "5.1.3 Bad recipient address syntax");
            return;
        }
        if (!path.parameters().isEmpty()) {
            session.reply(555, "5.5.4 Unsupported option: " + SmtpSession.printable(path.parameters().get(0), 40));
            return;
        }
        for (RcptHook hook : hooks) {
            HookResult r = hook.rcpt(state, address);
            if (!r.declined()) {
                session.reply(r);
                return;
            }
        }
        state.recipients().add(address);
        session.reply(250, "2.1.5 Ok");
    }
}
