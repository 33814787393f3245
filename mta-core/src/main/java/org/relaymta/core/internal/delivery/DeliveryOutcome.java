package org.relaymta.core.internal.delivery;

import java.util.Locale;

/**
 * What happened to one recipient in one delivery attempt.
 *
 * @param recipient  the envelope recipient
 * @param status     sent, deferred or bounced
 * @param dsn        enhanced status code, e.g. {@code 2.0.0}, {@code 4.7.4}
 * @param reason     the remote reply or local reason, as Postfix words it
 * @param relay      {@code host[ip]:port}, or {@code none} when no session was made
 * @param tls        protocol and cipher when the session was encrypted, else empty
 * @param setupSeconds    connection setup time: DNS, connect, greeting, EHLO, TLS, AUTH
 * @param transmitSeconds message transmission time
 * @param sessionFailed   no usable session could be had (connection refused, greeting refused, TLS or
 *                        AUTH failure, DNS failure): the destination's throttling counts these
 * @param direct          the route went to the recipient's own MX
 * @param nextHop         where the route sent it: the next hops as written, or the recipient domain of an MX route
 */
public record DeliveryOutcome(String recipient, Status status, String dsn, String reason, String relay, String tls,
                              double setupSeconds, double transmitSeconds, boolean sessionFailed, boolean direct,
                              String nextHop) {

    public DeliveryOutcome(String recipient, Status status, String dsn, String reason, String relay, String tls,
                           double setupSeconds, double transmitSeconds, boolean sessionFailed) {
        this(recipient, status, dsn, reason, relay, tls, setupSeconds, transmitSeconds, sessionFailed, false, "");
    }

    /** This outcome of a route to the recipient's own MX (true) or a relay host. */
    public DeliveryOutcome direct(boolean toMx) {
        return new DeliveryOutcome(recipient, status, dsn, reason, relay, tls, setupSeconds, transmitSeconds, sessionFailed, toMx,
                nextHop);
    }

    /** This outcome of {@code route}: whether it went to the MX, and its next hop as written. */
    public DeliveryOutcome via(org.relaymta.config.internal.Route route) {
        String hop = route.direct() ? route.directDomain().orElse("")
                : String.join(", ", route.nextHops().stream().map(org.relaymta.config.internal.NextHop::asWritten).toList());
        return new DeliveryOutcome(recipient, status, dsn, reason, relay, tls, setupSeconds, transmitSeconds, sessionFailed,
                route.direct(), hop);
    }

    /** An outcome whose session failed exactly when no session was made ({@code relay} is "none"). */
    public DeliveryOutcome(String recipient, Status status, String dsn, String reason, String relay, String tls,
                           double setupSeconds, double transmitSeconds) {
        this(recipient, status, dsn, reason, relay, tls, setupSeconds, transmitSeconds, "none".equals(relay));
    }

    public enum Status {
        SENT, DEFERRED, BOUNCED;

        public String postfixName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
