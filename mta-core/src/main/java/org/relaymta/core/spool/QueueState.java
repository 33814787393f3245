package org.relaymta.core.spool;

import java.util.Locale;

/** Which queue a message is in, with Postfix's names. */
public enum QueueState {
    /** New, or being delivered now. */
    ACTIVE,
    /** Waiting for its next attempt after a temporary failure. */
    DEFERRED,
    /** Held by an operator: not delivered until released. */
    HOLD;

    public String postfixName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
