package org.relaymta.core.internal.queue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import org.relaymta.config.internal.LogText;

/**
 * Postfix's delivery log line, so that existing log tools (pflogsumm, fail2ban filters, ...) work:
 * {@code QUEUEID: to=<rcpt>, relay=host[ip]:port, delay=T, delays=a/b/c/d, dsn=X.Y.Z, status=S (reason)}.
 * The recipient, relay and reason come from outside (the client, DNS, the remote server): their
 * control characters are escaped, so the line is one line whoever wrote them.
 */
final class DeliveryLogFormat {
    private DeliveryLogFormat() {
    }

    static String line(String queueId, String recipient, String relay, double delay, double beforeQueue,
                       double inQueue, double setup, double transmit, String dsn, String status, String reason) {
        return line(queueId, recipient, relay, delay, beforeQueue, inQueue, setup, transmit, dsn, status, reason, "");
    }

    /**
     * With the session's TLS outcome ({@code none}, {@code may}, {@code verified(pkix|dane|sts|fingerprint)})
     * after the reason, where Postfix's parsers (pflogsumm's {@code status=(\S+)(.*)$}) leave room;
     * {@code tls} empty: no session was had, nothing is added.
     */
    static String line(String queueId, String recipient, String relay, double delay, double beforeQueue,
                       double inQueue, double setup, double transmit, String dsn, String status, String reason, String tls) {
        return line(queueId, recipient, relay, delay, beforeQueue, inQueue, setup, transmit, dsn, status, reason, tls, "");
    }

    /** With the bounce class of a failure or deferral ({@code class=invalid-recipient}) last; empty: none added. */
    static String line(String queueId, String recipient, String relay, double delay, double beforeQueue, double inQueue,
                       double setup, double transmit, String dsn, String status, String reason, String tls, String bounceClass) {
        return queueId + ": to=<" + LogText.controls(recipient) + ">, relay=" + LogText.controls(relay) + ", delay="
                + seconds(delay) + ", delays=" + seconds(beforeQueue) + "/" + seconds(inQueue) + "/" + seconds(setup) + "/"
                + seconds(transmit) + ", dsn=" + LogText.controls(dsn) + ", status=" + status + " (" + LogText.controls(reason) + ")"
                + (tls.isEmpty() ? "" : " tls=" + tls) + (bounceClass.isEmpty() ? "" : " class=" + bounceClass);
    }

    /** Like Postfix: two significant digits for small values, whole seconds above 10, "0" for nothing. */
    static String seconds(double s) {
        if (s < 0.005) {
            return "0";
        }
        if (s >= 10) {
            return Long.toString(Math.round(s));
        }
        BigDecimal d = new BigDecimal(s).round(new MathContext(2, RoundingMode.HALF_UP));
        return d.stripTrailingZeros().toPlainString();
    }
}
