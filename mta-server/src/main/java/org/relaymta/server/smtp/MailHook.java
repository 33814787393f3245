package org.relaymta.server.smtp;

/** Policy at {@code MAIL FROM}, after the syntax was checked: who may start a transaction now. */
interface MailHook {
    HookResult mail(SessionState session, MailPath path);
}
