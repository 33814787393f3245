package org.relaymta.server.smtp;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Postfix's check before MAIL: with too little room in the spool, refuse now rather than after the whole body. */
final class SpoolSpace implements MailHook {
    private static final Logger log = LoggerFactory.getLogger(SpoolSpace.class);
    private final SmtpReceiver receiver;

    SpoolSpace(SmtpReceiver receiver) {
        this.receiver = receiver;
    }

    @Override
    public HookResult mail(SessionState session, MailPath path) {
        if (receiver.hasRoomForMail()) {
            return HookResult.DECLINED;
        }
        log.warn("not enough free space in the spool's file system: refusing mail from {}", session.client());
        return HookResult.denySoft(452, "4.3.1 Insufficient system storage");
    }
}
