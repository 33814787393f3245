package org.relaymta.core.internal.queue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.internal.spool.StoredMessage;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At start, before the queue is read: the outbox's events after its last checkpoint may be
 * durable while the spool change they describe is not (a crash came between the two). Their final
 * facts are applied to the spool: a recipient sent, bounced or expired is not tried again, a
 * deleted message is removed. Deferrals and holds change nothing (the next attempt decides again).
 */
public final class OutboxReconciler {
    private static final Logger log = LoggerFactory.getLogger(OutboxReconciler.class);

    private OutboxReconciler() {
    }

    /** Returns how many messages were changed. */
    public static int reconcile(Spool spool, List<DeliveryEvent> unsettled) {
        Map<String, List<DeliveryEvent>> byMessage = new LinkedHashMap<>();
        for (DeliveryEvent e : unsettled) {
            if (e.status().isFinal()) {
                byMessage.computeIfAbsent(e.queueId(), k -> new ArrayList<>()).add(e);
            }
        }
        if (byMessage.isEmpty()) {
            return 0;   // a clean stop checkpoints: nothing to do at the next start
        }
        Map<String, SpooledMessage> journaled = new HashMap<>();
        try {
            // Never-tried messages are journal records, not queue files: their first attempt is what a crash cuts short.
            for (StoredMessage s : spool.recovery().journaled()) {
                journaled.put(s.id(), s.journaled());
            }
        } catch (IOException e) {
            log.error("queue: cannot read the spool journal to apply the outbox's events: {}", e.getMessage());
        }
        int changed = 0;
        for (Map.Entry<String, List<DeliveryEvent>> m : byMessage.entrySet()) {
            try {
                if (apply(spool, journaled.get(m.getKey()), m.getKey(), m.getValue())) {
                    changed++;
                }
            } catch (IOException | RuntimeException e) {
                // The message stays as the spool has it: at worst a recipient is tried once more.
                log.error("queue: cannot apply the outbox's events to {}: {}", m.getKey(), e.toString());
            }
        }
        return changed;
    }

    private static boolean apply(Spool spool, SpooledMessage inJournal, String id, List<DeliveryEvent> events)
            throws IOException {
        Optional<SpooledMessage> found = inJournal != null ? Optional.of(inJournal) : spool.load(id);
        if (found.isEmpty()) {
            return false;
        }
        SpooledMessage message = found.get();
        if (events.stream().anyMatch(e -> e.status() == DeliveryEvent.Status.DELETED)) {
            spool.remove(message);
            log.info("{}: removed (deleted by operator before the relay stopped)", id);
            return true;
        }
        Map<String, DeliveryEvent> last = new LinkedHashMap<>();
        events.forEach(e -> last.put(e.recipient(), e));
        List<Recipient> recipients = new ArrayList<>();
        int settled = 0;
        for (Recipient r : message.recipients()) {
            DeliveryEvent e = last.get(r.address());
            if (r.status() == RecipientStatus.PENDING && e != null) {
                RecipientStatus status = e.status() == DeliveryEvent.Status.SENT ? RecipientStatus.SENT : RecipientStatus.FAILED;
                recipients.add(r.with(status, e.dsn(), e.reason()));
                settled++;
            } else {
                recipients.add(r);
            }
        }
        if (settled == 0) {
            return false;
        }
        log.info("{}: {} recipient(s) already done per the event outbox (the relay stopped before the queue file said so)",
                id, settled);
        if (recipients.stream().noneMatch(r -> r.status() == RecipientStatus.PENDING)) {
            spool.remove(message);
            QueueManager.QMGR_LOG.info("{}: removed", id);
        } else {
            spool.saveState(message.withState(recipients, message.attempts(), message.nextAttempt()));
        }
        return true;
    }
}
