package org.relaymta.server.smtp;

/** DATA: with a sender and at least one recipient, starts the message and its content phase ({@link MessageIntake}). */
final class DataVerb implements Verb {
    @Override
    public void handle(SmtpSession session, String arg) {
        SessionState state = session.state();
        if (state.sender() == null) {
            session.reply(503, "5.5.1 Error: need MAIL command");
        } else if (state.recipients().isEmpty()) {
            session.reply(503, "5.5.1 Error: need RCPT command");
        } else if (!arg.isEmpty()) {
            session.reply(501, "5.5.4 Syntax: DATA");
        } else {
            session.startData();
        }
    }
}
