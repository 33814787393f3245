package org.relaymta.core.internal.queue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.queue.QueueControl;
import org.relaymta.core.queue.QueuedMessage;
import org.relaymta.core.internal.spool.SpooledMessage;

/** The public {@link QueueControl} over the operator actions, with spool details left out. */
public final class EngineQueueControl implements QueueControl {
    private final QueueActions actions;

    /** Waits until the listeners have had every event recorded so far; false on timeout. */
    public interface ListenerWait {
        boolean await(Duration timeout) throws InterruptedException;
    }

    private ListenerWait listeners = t -> true;

    /** {@code listeners}: {@link #awaitEmpty} returns only after the listeners had the last events too. */
    public EngineQueueControl(QueueActions actions, ListenerWait listeners) {
        this(actions);
        this.listeners = listeners;
    }

    public EngineQueueControl(QueueActions actions) {
        this.actions = actions;
    }

    static QueuedMessage view(SpooledMessage m) {
        return new QueuedMessage(m.id(), m.envelope().sender(), m.envelope().arrival(), m.contentLength(), m.recipients(),
                m.state(), m.attempts(), m.nextAttempt());
    }

    @Override
    public List<QueuedMessage> messages() {
        return actions.messages().stream().map(EngineQueueControl::view).toList();
    }

    @Override
    public Optional<QueuedMessage> message(String id) {
        return actions.message(id).map(EngineQueueControl::view);
    }

    @Override
    public InputStream content(String id) throws IOException {
        Optional<SpooledMessage> m = actions.message(id);
        if (m.isEmpty()) {
            throw new FileNotFoundException("message " + id + " is not queued");
        }
        return actions.content(m.get());
    }

    @Override
    public int size() {
        return actions.size();
    }

    @Override
    public int flush() {
        return actions.flush();
    }

    @Override
    public ActionResult apply(QueueAction action, String idOrAll) throws IOException {
        return actions.apply(action, idOrAll);
    }

    @Override
    public void runDue() {
        actions.runDue();
    }

    @Override
    public boolean awaitEmpty(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        if (!actions.awaitEmpty(timeout)) {
            return false;
        }
        // The queue is empty once the last outcome is in the spool; the listeners hear of it on their own threads.
        Duration left = timeout.minusNanos(System.nanoTime() - start);
        return listeners.await(left.isNegative() ? Duration.ZERO : left);
    }
}
