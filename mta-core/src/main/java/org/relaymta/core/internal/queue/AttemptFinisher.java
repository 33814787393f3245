package org.relaymta.core.internal.queue;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.relaymta.config.internal.BounceClasses;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.outbox.EventRecorder;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;
import org.relaymta.core.internal.suppress.NoSuppressions;
import org.relaymta.core.queue.SuppressionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of a delivery attempt, after Postfix's qmgr: recipient outcomes become the message's
 * new state, expired recipients and refused ones are bounced, a delay warning goes out when due,
 * and the events are recorded in the outbox; once they are durable the state is saved (or the
 * message removed when nothing is left), so a crash can repeat a delivery but never lose its event.
 * An operator action asked for during the attempt is applied here, under the entry's monitor, so a
 * recipient that was sent is never sent again.
 */
final class AttemptFinisher {
    private static final Logger log = LoggerFactory.getLogger(AttemptFinisher.class);

    private final Spool spool;
    private final Supplier<RelayConfig> config;
    private final Clock clock;
    private final QueueIndex index;
    private final SenderNotifier notifier;
    private final DeliveryEvents events;
    private final Consumer<SpooledMessage> enqueue;
    private volatile SuppressionList suppressions = NoSuppressions.INSTANCE;

    AttemptFinisher(Spool spool, Supplier<RelayConfig> config, Clock clock, QueueIndex index, DeliveryEvents events,
                    Consumer<SpooledMessage> enqueue) {
        this.spool = spool;
        this.config = config;
        this.clock = clock;
        this.index = index;
        this.notifier = new SenderNotifier(spool, clock);
        this.events = events;
        this.enqueue = enqueue;
    }

    /**
     * Records the outcomes of an attempt of {@code message} (as it was when the attempt began);
     * {@code waited} is how long it waited past its due time. Returns when to try it next, or null.
     */
    /** Where recipients that bounce hard go ({@code suppress_hard_bounces}). */
    void suppressions(SuppressionList list) {
        this.suppressions = list;
    }

    /** Recipients a relay quota held back in an attempt, and when the earliest may go. */
    record QuotaHold(Set<String> recipients, Instant due) {
    }

    CompletableFuture<Instant> finish(QueueEntry entry, SpooledMessage message, List<DeliveryOutcome> outcomes, double waited) {
        return finish(entry, message, outcomes, waited, null, Set.of(), null);
    }

    /**
     * As Postfix's qmgr after an attempt. Recipients only held back by a quota are not a failed
     * attempt: no backoff, the count of attempts unchanged, due when the quota's slot comes, and
     * their deferral is published once (not again while the same quota keeps holding them). The
     * spool change runs once the events are durable, on {@code after} (null: on the thread that made
     * them durable, for the cheap all-sent case), and the future says when the message is due next.
     */
    CompletableFuture<Instant> finish(QueueEntry entry, SpooledMessage message, List<DeliveryOutcome> outcomes, double waited,
                                      QuotaHold quota, Set<String> suppressed, Executor after) {
        RelayConfig cfg = config.get();
        Instant now = clock.instant();
        Map<String, Recipient> updated = new LinkedHashMap<>();
        message.recipients().forEach(r -> updated.put(r.address(), r));
        List<BounceMessage.Failed> toBounce = new ArrayList<>();
        List<DeliveryEvent> published = new ArrayList<>();
        BounceClasses classes = cfg.delivery().bounceClasses();
        int attempt = message.attempts() + 1;
        for (DeliveryOutcome o : outcomes) {
            RecipientStatus status = switch (o.status()) {
                case SENT -> RecipientStatus.SENT;
                case BOUNCED -> RecipientStatus.FAILED;
                case DEFERRED -> RecipientStatus.PENDING;
            };
            Recipient before = updated.get(o.recipient());
            updated.put(o.recipient(), before.with(status, o.dsn(), o.reason()));
            boolean quotaHeld = quota != null && quota.recipients().contains(o.recipient());
            String bounceClass = o.status() == DeliveryOutcome.Status.SENT ? ""
                    : quotaHeld ? "rate-limited" : classes.classify(o.dsn(), o.reason());
            boolean wasSuppressed = suppressed.contains(o.recipient());
            if (o.status() == DeliveryOutcome.Status.BOUNCED) {
                toBounce.add(new BounceMessage.Failed(o.recipient(), o.dsn(), o.reason(), o.relay(), bounceClass));
                if (!wasSuppressed && cfg.events().suppressHardBounces() && cfg.events().suppressionClasses().contains(bounceClass)) {
                    suppress(o.recipient(), bounceClass);
                }
            }
            if (quotaHeld && o.reason().equals(before.lastReason())) {
                continue;   // still held by the same quota: logged when it began
            }
            published.add(events.event(message, o, quotaHeld ? DeliveryEvent.Status.QUOTA_DELAYED
                    : wasSuppressed ? DeliveryEvent.Status.SUPPRESSED : eventStatus(o.status()),
                    bounceClass, attempt, waited));
        }
        List<Recipient> recipients = new ArrayList<>(updated.values());
        Duration age = Duration.between(message.envelope().arrival(), now);
        boolean pending = recipients.stream().anyMatch(r -> r.status() == RecipientStatus.PENDING);
        if (pending && age.compareTo(lifetimeFor(message, cfg)) >= 0) {
            recipients = expire(message, recipients, age, toBounce, published, classes);
            pending = false;
        }
        boolean onlyQuota = quota != null && recipients.stream().filter(r -> r.status() == RecipientStatus.PENDING)
                .allMatch(r -> quota.recipients().contains(r.address()));
        SpooledMessage next = onlyQuota
                ? message.withState(recipients, message.attempts(), quota.due().isBefore(now) ? now : quota.due())
                : message.withState(recipients, message.attempts() + 1, now.plus(cfg.queue().backoffFor(age)));
        // Written before the original may leave the spool (they quote it), queued after its events.
        List<SenderNotifier.Notice> notices = new ArrayList<>();
        if (!toBounce.isEmpty()) {
            notifier.notify(next, BounceMessage.Kind.FAILED, toBounce, cfg).ifPresent(notices::add);
        }
        if (pending && !next.delayWarned() && !cfg.queue().delayWarningTime().isZero()
                && age.compareTo(cfg.queue().delayWarningTime()) >= 0) {
            List<BounceMessage.Failed> delayed = new ArrayList<>();
            for (Recipient r : recipients) {
                if (r.status() == RecipientStatus.PENDING) {
                    delayed.add(new BounceMessage.Failed(r.address(), r.dsn().isEmpty() ? "4.0.0" : r.dsn(),
                            r.lastReason(), "none", classes.classify(r.dsn(), r.lastReason())));
                }
            }
            notifier.notify(next, BounceMessage.Kind.DELAYED, delayed, cfg).ifPresent(notices::add);
            next = next.withDelayWarned();
        }
        // Held again by the quota already on record: nothing worth an fsync changed (only when it is
        // due), so the new state stays in memory; after a crash the message is just asked about sooner.
        boolean persist = !(onlyQuota && published.isEmpty() && notices.isEmpty() && !message.journaled()
                && next.delayWarned() == message.delayWarned());
        SpooledMessage state = next;
        boolean stillPending = pending;
        Function<EventRecorder.Recorded, Instant> change = recorded -> {
            List<DeliveryEvent> byOperator = new ArrayList<>();
            events.logLines(recorded);
            notices.forEach(SenderNotifier.Notice::log);
            Instant due = end(entry, state, stillPending, now, persist, byOperator);
            events.settled(recorded, false);
            if (!byOperator.isEmpty()) {
                // The operator's hold or delete waited for this attempt; its spool change is made already
                // (perhaps on the outbox's own thread, which must not wait for itself): recorded after it.
                events.recorder().record(byOperator).thenAccept(events::settled);
            }
            notices.forEach(n -> enqueue.accept(n.message()));
            return due;
        };
        CompletableFuture<EventRecorder.Recorded> recorded = events.recorder().record(published);
        return after == null ? recorded.thenApply(change) : recorded.thenApplyAsync(change, after);
    }

    private List<Recipient> expire(SpooledMessage message, List<Recipient> recipients, Duration age,
                                   List<BounceMessage.Failed> toBounce, List<DeliveryEvent> published, BounceClasses classes) {
        List<Recipient> expired = new ArrayList<>();
        for (Recipient r : recipients) {
            if (r.status() != RecipientStatus.PENDING) {
                expired.add(r);
                continue;
            }
            String dsn = r.dsn().isEmpty() ? "4.4.7" : r.dsn();
            String reason = "message expired after " + humanDuration(age) + ": " + r.lastReason();
            expired.add(r.with(RecipientStatus.FAILED, dsn, reason));
            // Classed by what kept it from going: the last reply or reason before it expired.
            String bounceClass = classes.classify(r.dsn(), r.lastReason());
            toBounce.add(new BounceMessage.Failed(r.address(), dsn, reason, "none", bounceClass));
            published.add(events.event(message, r.address(), DeliveryEvent.Status.EXPIRED, "", "none", false, dsn, reason,
                    bounceClass, "", message.attempts(), 0, 0, 0));
        }
        return expired;
    }

    /** The attempt is over: applies what the operator asked for meanwhile, and saves or removes the message. */
    private Instant end(QueueEntry entry, SpooledMessage next, boolean pending, Instant now, boolean persist,
                        List<DeliveryEvent> byOperator) {
        synchronized (entry) {
            entry.inFlight = false;
            QueueEntry.Pending action = entry.pending;
            entry.pending = QueueEntry.Pending.NONE;
            boolean rerun = entry.rerun;
            entry.rerun = false;
            if (action == QueueEntry.Pending.DELETE && pending) {
                byOperator.addAll(events.ofPending(next, DeliveryEvent.Status.DELETED, "removed", "deleted by operator"));
            }
            if (!pending || action == QueueEntry.Pending.DELETE || entry.removed) {
                remove(entry, next);
                return null;
            }
            if (action == QueueEntry.Pending.HOLD) {
                byOperator.addAll(events.ofPending(next, DeliveryEvent.Status.HELD, "placed on hold", "held by operator"));
            }
            QueueState state = switch (action) {
                case HOLD -> QueueState.HOLD;
                case REQUEUE -> QueueState.ACTIVE;
                default -> QueueState.DEFERRED;
            };
            next = next.withQueueState(state);
            if (action == QueueEntry.Pending.REQUEUE || rerun) {
                next = next.withNextAttempt(now);
            }
            if (persist || state != QueueState.DEFERRED) {
                save(entry, next);
            } else {
                entry.resident = next;
            }
            entry.state = state;
            return state == QueueState.HOLD ? null : next.nextAttempt();
        }
    }

    /**
     * An attempt that failed with a bug (never lose a message to one): the message is tried again
     * after the minimal backoff; a pending delete or hold still applies. Returns when to try it next.
     */
    Instant abandon(QueueEntry entry, RuntimeException bug) {
        log.error("queue: delivery attempt of {} failed unexpectedly; will retry", entry.id, bug);
        synchronized (entry) {
            entry.inFlight = false;
            entry.rerun = false;
            QueueEntry.Pending action = entry.pending;
            entry.pending = QueueEntry.Pending.NONE;
            if (entry.removed) {
                return null;
            }
            try {
                Optional<SpooledMessage> m = entry.resident != null ? Optional.of(entry.resident) : spool.load(entry.id);
                if (m.isEmpty()) {
                    entry.removed = true;
                    index.remove(entry);
                    return null;
                }
                if (action == QueueEntry.Pending.DELETE) {
                    remove(entry, m.get());
                    return null;
                }
                if (action == QueueEntry.Pending.HOLD) {
                    save(entry, m.get().withQueueState(QueueState.HOLD));
                    entry.state = QueueState.HOLD;
                    return null;
                }
            } catch (IOException e) {
                log.error("queue: cannot read {} after a failed attempt: {}", entry.id, e.getMessage());
            }
            return clock.instant().plus(config.get().queue().minimalBackoffTime());
        }
    }

    /** Saves the state; a message still in the journal moves to its own queue file on the way. */
    private void save(QueueEntry entry, SpooledMessage next) {
        // A shutdown interrupts running deliveries; the outcome is still worth recording, and an
        // interrupted thread cannot write a file (ClosedByInterruptException).
        boolean interrupted = Thread.interrupted();
        try {
            spool.saveState(next);
            entry.resident = null;
        } catch (IOException e) {
            // The message itself is intact; losing the state only repeats deliveries.
            log.error("queue: cannot save state of {}: {}", entry.id, e.getMessage());
            entry.resident = next.journaled() ? next : null;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void remove(QueueEntry entry, SpooledMessage message) {
        entry.removed = true;
        index.remove(entry);
        try {
            spool.remove(message);
            QueueManager.QMGR_LOG.info("{}: removed", entry.id);
        } catch (IOException e) {
            log.error("queue: cannot remove {} from the spool: {}", entry.id, e.getMessage());
        }
    }

    private static Duration lifetimeFor(SpooledMessage message, RelayConfig cfg) {
        return message.envelope().sender().isEmpty() ? cfg.queue().bounceQueueLifetime() : cfg.queue().maximalQueueLifetime();
    }

    private static DeliveryEvent.Status eventStatus(DeliveryOutcome.Status s) {
        return switch (s) {
            case SENT -> DeliveryEvent.Status.SENT;
            case DEFERRED -> DeliveryEvent.Status.DEFERRED;
            case BOUNCED -> DeliveryEvent.Status.BOUNCED;
        };
    }

    static String humanDuration(Duration d) {
        if (d.toDays() >= 1) {
            return d.toDays() + "d";
        }
        if (d.toHours() >= 1) {
            return d.toHours() + "h";
        }
        return d.toSeconds() + "s";
    }

    private void suppress(String recipient, String bounceClass) {
        try {
            suppressions.add(recipient, bounceClass);
            log.info("suppressed <{}> ({}): later mail to it is bounced without being sent", recipient, bounceClass);
        } catch (RuntimeException e) {
            log.warn("cannot suppress <{}>: {}", recipient, e.getMessage());
        }
    }
}
