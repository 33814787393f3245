package org.relaymta.config.internal;

import java.util.Locale;
import org.relaymta.config.ConfigException;

/** Postfix {@code smtpd_forbid_bare_newline}: what the listener does with a bare LF or CR in DATA. */
public enum BareNewlinePolicy {
    /** Convert bare LF / CR to CRLF (the default here). */
    NORMALIZE,
    /** Reject the message with 550 5.5.2 after reading to the end of data. */
    REJECT,
    /**
     * Postfix's "no" (accept as is). Content still leaves this relay CRLF-canonical, so here it
     * behaves as {@link #NORMALIZE}: raw bare newlines are never forwarded.
     */
    NO;

    public static BareNewlinePolicy parse(String value, String where) {
        switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "normalize": case "yes": return NORMALIZE;
            case "reject": return REJECT;
            case "no": return NO;
            default:
                throw new ConfigException(where, "invalid value '" + value.strip() + "' (expected normalize, reject or no)");
        }
    }
}
