package org.relaymta.server.smtp;

import org.relaymta.config.internal.ListenerSettings;

/**
 * {@code smtpd_recipient_limit} with Postfix's overshoot: recipients over the limit get {@code 452
 * 4.5.3} (the client sends them in another transaction) without counting as errors, until {@code
 * smtpd_recipient_overshoot_limit} of them; each one after that counts.
 */
final class RecipientLimit implements RcptHook {
    @Override
    public HookResult rcpt(SessionState session, String recipient) {
        ListenerSettings limits = session.config().listener();
        if (session.recipients().size() < limits.recipientLimit()) {
            return HookResult.DECLINED;
        }
        int over = session.countOvershoot();
        return new HookResult(HookResult.Action.DENYSOFT, 452, "4.5.3 Error: too many recipients",
                over > limits.recipientOvershootLimit());
    }
}
