package org.relaymta.core.internal.quota;

import java.time.Instant;

/** Why and until when a transaction waits for a relay quota. */
public record QuotaDelay(Instant until, String key, String setting) {
    /** The deferral reason, as the log and {@code mta queue list} show it. */
    public String reason() {
        if (key.startsWith("shaping ")) {
            return "throttled: " + key.substring(8) + " " + setting;
        }
        if (setting.startsWith("suspended")) {
            return "delivery to " + key + " " + setting;
        }
        return "relay quota " + key + " " + setting;
    }

    /** Held for a concurrency slot: woken when one frees rather than at {@link #until()}. */
    public boolean concurrency() {
        return setting.startsWith("concurrency=");
    }

    static QuotaDelay later(QuotaDelay a, QuotaDelay b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return b.until().isAfter(a.until()) ? b : a;
    }
}
