package org.relaymta.server.smtp;

import java.util.List;
import org.relaymta.config.internal.SenderLogins;
import org.relaymta.config.internal.SenderPolicy;
import org.relaymta.config.internal.SenderPolicy.Restriction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix's sender restrictions at MAIL FROM: {@code smtpd_sender_restrictions} on every listener,
 * with {@code reject_authenticated_sender_login_mismatch} first on the submission and smtps
 * listeners ({@code SPOOF_PROTECTION}). Evaluated in order until one permits or rejects, as
 * Postfix does; a mismatch gets Postfix's reply and log line. This is what keeps one tenant's
 * submission account from sending as another tenant and spending that tenant's relay credentials.
 * The null sender is not checked (bounces have no owner), as in Postfix.
 */
final class SenderLoginCheck implements MailHook {
    private static final Logger log = LoggerFactory.getLogger("org.relaymta.smtpd");

    @Override
    public HookResult mail(SessionState session, MailPath path) {
        String sender = path.address();
        if (sender.isEmpty()) {
            return HookResult.DECLINED;
        }
        SenderPolicy policy = session.config().listener().senders();
        List<Restriction> restrictions = session.mode() == RelayListener.Mode.RELAY ? policy.relay() : policy.submission();
        String login = session.authUser();
        for (Restriction r : restrictions) {
            String refusal = switch (r) {
                case PERMIT -> null;
                case REJECT -> "554 5.7.1 <" + sender + ">: Sender address rejected: Access denied";
                case PERMIT_MYNETWORKS, PERMIT_SASL_AUTHENTICATED -> null;
                case REJECT_SENDER_LOGIN_MISMATCH -> login != null ? notOwned(policy.logins(), login, sender, false)
                        : notLoggedIn(policy.logins(), sender);
                case REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH -> login == null ? null : notOwned(policy.logins(), login, sender, false);
                case REJECT_KNOWN_SENDER_LOGIN_MISMATCH -> login == null ? notLoggedIn(policy.logins(), sender)
                        : notOwned(policy.logins(), login, sender, true);
                case REJECT_UNAUTHENTICATED_SENDER_LOGIN_MISMATCH -> login == null ? notLoggedIn(policy.logins(), sender) : null;
            };
            if (refusal != null) {
                log.info("NOQUEUE: reject: MAIL from unknown[{}]: {}; from=<{}> proto={} helo=<{}>", session.client(), refusal,
                        sender, session.esmtp ? "ESMTP" : "SMTP", session.helo == null ? "" : session.helo);
                return HookResult.deny(Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4));
            }
            if (r == Restriction.PERMIT || (r == Restriction.PERMIT_SASL_AUTHENTICATED && login != null)
                    || (r == Restriction.PERMIT_MYNETWORKS && session.clientIp() != null
                    && session.config().listener().mynetworks().contains(session.clientIp()))) {
                return HookResult.DECLINED;
            }
        }
        return HookResult.DECLINED;
    }

    /** A logged-in client that does not own the sender; with {@code knownOnly}, a sender nobody owns passes. */
    private static String notOwned(SenderLogins logins, String login, String sender, boolean knownOnly) {
        List<String> owners = logins.owners(sender);
        if (owners.stream().anyMatch(o -> o.equalsIgnoreCase(login)) || (knownOnly && owners.isEmpty())) {
            return null;
        }
        return "553 5.7.1 <" + sender + ">: Sender address rejected: not owned by user " + login;
    }

    private static String notLoggedIn(SenderLogins logins, String sender) {
        return logins.owners(sender).isEmpty() ? null : "553 5.7.1 <" + sender + ">: Sender address rejected: not logged in";
    }
}
