package org.relaymta.core.internal.queue;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.internal.spool.SpooledMessage;

/**
 * The queue as an operator sees it: Postfix's {@code mailq}, {@code postqueue -f} and {@code
 * postsuper} as Java calls. The same operations back {@code mta queue}, the admin endpoint and an
 * embedding application ({@code relay.queue()}).
 *
 * <p>An action on a message that is being delivered takes effect when that attempt ends (the
 * result says which ids that applies to); a recipient already sent is never sent again.
 */
public interface QueueActions {

    /** Every queued message, oldest first, with its per-recipient state. Reads the spool for waiting ones. */
    List<SpooledMessage> messages();

    /** Visits every queued message, oldest first, without holding them all in memory. */
    void forEach(Consumer<SpooledMessage> visitor);

    /** One message, or empty when it is not (or no longer) queued. */
    Optional<SpooledMessage> message(String id);

    /** The message content as spooled (CRLF-canonical). */
    InputStream content(SpooledMessage message) throws IOException;

    /** Messages queued, held ones included. */
    int size();

    /** Postfix {@code postqueue -f}: every message that is not held is tried now; suspended destinations get another chance. */
    int flush();

    /** An operator action on {@code id} or {@code ALL} ({@link QueueAction} says which postsuper flag it is). */
    ActionResult apply(QueueAction action, String idOrAll) throws IOException;

    /** Starts every delivery whose time has come by the engine's clock (the engine does this itself every 200 ms). */
    void runDue();

    /** Waits until nothing is queued (held messages count); false when {@code timeout} passed first. */
    boolean awaitEmpty(Duration timeout) throws InterruptedException;
}
