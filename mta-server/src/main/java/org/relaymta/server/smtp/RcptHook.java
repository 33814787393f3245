package org.relaymta.server.smtp;

/** Policy at {@code RCPT TO}, after the syntax was checked: which recipients this session may add. */
interface RcptHook {
    HookResult rcpt(SessionState session, String recipient);
}
