package org.relaymta.core.internal.outbox;

/**
 * A try of an {@link EventSink} failed. {@code permanent}: the other side refused the batch and
 * would refuse it again (a 4xx other than 408 and 429), so after a few more tries it is dropped
 * rather than holding back every later event; otherwise it is retried until it goes through.
 */
public final class SinkException extends Exception {
    private final boolean permanent;

    public SinkException(String message, boolean permanent) {
        super(message, null, false, false);
        this.permanent = permanent;
    }

    public boolean permanent() {
        return permanent;
    }
}
