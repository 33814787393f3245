package org.relaymta.server.smtp;

/** One SMTP command's handler: checks its syntax and state, asks the hooks, and answers through the session. */
interface Verb {
    void handle(SmtpSession session, String argument);
}
