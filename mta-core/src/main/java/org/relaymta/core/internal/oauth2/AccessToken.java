package org.relaymta.core.internal.oauth2;

import java.time.Instant;

/**
 * An access token and its lifetime. {@link #toString()} never shows the token.
 *
 * @param value     the bearer token
 * @param issued    when it was received
 * @param expires   when the endpoint said it expires
 * @param scope     the granted scope, if the endpoint said
 */
public record AccessToken(String value, Instant issued, Instant expires, String scope) {

    /** Refreshed ahead of expiry: at 80% of its lifetime it is no longer handed out for new sessions. */
    public boolean fresh(Instant now) {
        long life = expires.toEpochMilli() - issued.toEpochMilli();
        return now.toEpochMilli() < issued.toEpochMilli() + life * 8 / 10;
    }

    @Override
    public String toString() {
        return "AccessToken[expires=" + expires + ", scope=" + scope + "]";
    }
}
