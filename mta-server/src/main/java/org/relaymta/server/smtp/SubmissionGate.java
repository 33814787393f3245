package org.relaymta.server.smtp;

/** Submission and SMTPS listeners: no transaction before AUTH. */
final class SubmissionGate implements MailHook {
    @Override
    public HookResult mail(SessionState session, MailPath path) {
        return session.authRequired() && session.authUser() == null
                ? HookResult.deny(530, "5.7.0 Authentication required") : HookResult.DECLINED;
    }
}
