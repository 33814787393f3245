package org.relaymta.core.internal.queue;

import java.util.ArrayList;
import java.util.List;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;

/** Collects an operator action's ids as it goes ({@link QueueOperations}). */
final class ActionResultBuilder {
    private final QueueAction action;
    private final List<String> done = new ArrayList<>();
    private final List<String> inDelivery = new ArrayList<>();
    private final List<String> notFound = new ArrayList<>();

    ActionResultBuilder(QueueAction action) {
        this.action = action;
    }

    void done(String id) {
        done.add(id);
    }

    void inDelivery(String id) {
        inDelivery.add(id);
    }

    void notFound(String id) {
        notFound.add(id);
    }

    ActionResult build() {
        return new ActionResult(action, done, inDelivery, notFound);
    }
}
