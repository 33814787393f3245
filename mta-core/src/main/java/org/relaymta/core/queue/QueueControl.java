package org.relaymta.core.queue;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The relay's queue as an application or operator sees it: Postfix's {@code mailq},
 * {@code postqueue -f} and {@code postsuper} as Java calls.
 *
 * <pre>{@code
 * QueueControl queue = relay.queue();
 * for (QueuedMessage m : queue.messages()) {
 *     System.out.println(m.id() + " " + m.state() + " " + m.recipients());
 * }
 * queue.flush();                                   // the smarthost is back: retry now
 * queue.hold("ALL");                               // stop delivering until released
 * boolean drained = queue.awaitEmpty(Duration.ofSeconds(30));
 * }</pre>
 *
 * An action on a message that is being delivered takes effect when that attempt ends (the
 * {@link ActionResult} says which ids that applies to); a recipient already sent is never sent again.
 */
public interface QueueControl {

    /** Every queued message, oldest first, with its per-recipient state. */
    List<QueuedMessage> messages();

    /** One message, or empty when it is not (or no longer) queued. */
    Optional<QueuedMessage> message(String id);

    /** The message content as spooled (CRLF line ends); {@link java.io.FileNotFoundException} when it is not queued. */
    InputStream content(String id) throws IOException;

    /** Messages queued, held ones included. */
    int size();

    /** Postfix {@code postqueue -f}: every message that is not held is tried now. Returns how many. */
    int flush();

    /**
     * Applies an operator action to {@code id}, or to every queued message when it is {@code ALL};
     * a message in delivery gets it when its attempt ends.
     */
    ActionResult apply(QueueAction action, String idOrAll) throws IOException;

    /** Postfix {@code postsuper -h}: {@code id} or {@code ALL} is not delivered until released. */
    default ActionResult hold(String idOrAll) throws IOException {
        return apply(QueueAction.HOLD, idOrAll);
    }

    /** Postfix {@code postsuper -H}: held messages are tried now. */
    default ActionResult release(String idOrAll) throws IOException {
        return apply(QueueAction.RELEASE, idOrAll);
    }

    /** Postfix {@code postsuper -d}: removes messages from the queue. */
    default ActionResult delete(String idOrAll) throws IOException {
        return apply(QueueAction.DELETE, idOrAll);
    }

    /** Postfix {@code postsuper -r}: routed again with the current configuration and tried now. */
    default ActionResult requeue(String idOrAll) throws IOException {
        return apply(QueueAction.REQUEUE, idOrAll);
    }

    /**
     * Starts every delivery whose time has come by the engine's clock. The engine does this itself
     * every 200 ms; a test that moves its own clock calls it to see the effect at once.
     */
    void runDue();

    /** Waits until nothing is queued (held messages count); false when {@code timeout} passed first. */
    boolean awaitEmpty(Duration timeout) throws InterruptedException;
}
