package org.relaymta.core.queue;

import java.util.Locale;
import java.util.Optional;

/**
 * What an operator does to queued messages, Postfix's {@code postsuper} flags as one type: the
 * library's {@link QueueControl#apply}, {@code mta queue hold|release|delete|requeue} and the admin
 * endpoint's {@code POST /queue/ID|ALL/ACTION} all name one of these.
 */
public enum QueueAction {
    /** {@code postsuper -h}: not delivered until released. */
    HOLD("placed on hold"),
    /** {@code postsuper -H}: held messages are tried now. */
    RELEASE("released from hold"),
    /** {@code postsuper -d}: removed from the queue. */
    DELETE("removed"),
    /** {@code postsuper -r}: routed again with the current configuration and tried now. */
    REQUEUE("requeued");

    private final String done;

    QueueAction(String done) {
        this.done = done;
    }

    /** The name on the command line, in URLs and in JSON: {@code hold}, {@code release}, {@code delete}, {@code requeue}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** What the log says was done to a message: "placed on hold", "removed". */
    public String done() {
        return done;
    }

    /** The action of that {@link #label()}, or empty. */
    public static Optional<QueueAction> named(String label) {
        for (QueueAction a : values()) {
            if (a.label().equals(label)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
