package org.relaymta.core.queue;

import java.util.Locale;

/**
 * Which queue a message is in, with Postfix's names.
 *
 * <pre>{@code
 * long held = relay.queue().messages().stream().filter(m -> m.state() == QueueState.HOLD).count();
 * }</pre>
 */
public enum QueueState {
    /** New, or being delivered now. */
    ACTIVE,
    /** Waiting for its next attempt after a temporary failure. */
    DEFERRED,
    /** Held by an operator: not delivered until released. */
    HOLD;

    /** As {@code mailq} and the log lines say it: {@code active}, {@code deferred}, {@code hold}. */
    public String postfixName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
