package org.relaymta.core.event;

import java.time.Duration;
import java.util.Locale;

/**
 * One recipient's outcome, as published to listeners and written to the log.
 *
 * <pre>{@code
 * relay.addListener(event -> log.info("{} {} {} ({})", event.queueId(), event.recipient(), event.status(), event.dsn()));
 * }</pre>
 *
 * @param queueId   the message's queue id
 * @param sender    the envelope sender (empty for {@code <>})
 * @param recipient the recipient
 * @param status    sent, deferred, bounced or expired
 * @param relay     {@code host[ip]:port} or {@code none}
 * @param direct    true when the recipient's own MX was the destination (no relay host)
 * @param dsn       enhanced status code
 * @param reason    the remote reply or local reason
 * @param tls       TLS protocol and cipher of the session ({@code TLSv1.3 TLS_AES_128_GCM_SHA256}), or empty
 * @param delay     time since the message arrived
 * @param logLine   the Postfix-format log line
 */
public record DeliveryEvent(String queueId, String sender, String recipient, Status status, String relay, boolean direct,
                            String dsn, String reason, String tls, Duration delay, String logLine) {

    public enum Status {
        SENT, DEFERRED, BOUNCED, EXPIRED;

        public String postfixName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
