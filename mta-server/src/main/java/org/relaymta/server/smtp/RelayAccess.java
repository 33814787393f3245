package org.relaymta.server.smtp;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Who may relay: an authenticated client, or on the relay port a client in {@code mynetworks}. */
final class RelayAccess implements RcptHook {
    private static final Logger log = LoggerFactory.getLogger(RelayAccess.class);

    @Override
    public HookResult rcpt(SessionState session, String recipient) {
        if (session.authUser() != null
                || (!session.authRequired() && session.clientIp() != null
                && session.config().listener().mynetworks().contains(session.clientIp()))) {
            return HookResult.DECLINED;
        }
        log.info("reject: RCPT from {}: 554 5.7.1 <{}>: Relay access denied; from=<{}>", session.client(), recipient,
                session.sender());
        return HookResult.deny(554, "5.7.1 <" + recipient + ">: Relay access denied");
    }
}
