package org.relaymta.core.internal.outbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.relaymta.core.event.DeliveryEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands one {@link EventSink} its events with the retry policy every sink shares: exponential
 * backoff from 1 s with jitter up to {@code event_retry_maximum} while the other side is away, and
 * a batch it refuses for good dropped after {@value #PERMANENT_TRIES} tries (logged and counted).
 * Keeps the counts {@code /health} and the metrics show.
 */
public final class SinkRunner {
    private static final Logger log = LoggerFactory.getLogger(SinkRunner.class);
    static final int PERMANENT_TRIES = 3;
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);

    /** What a sink has done: for {@code /health} and the metrics. */
    public record Status(String name, String label, long position, long delivered, long dropped, long lost, long failures,
                         Optional<String> lastError, Optional<Instant> failingSince) {
        /** How long a sink may fail before {@code /health} says so. */
        public static final Duration REPORTED_AFTER = Duration.ofMinutes(5);

        /** What {@code /health} says of it now, if anything: failing for a while, or events lost. */
        public List<String> warnings(Instant now, long lag) {
            List<String> w = new java.util.ArrayList<>();
            failingSince.filter(since -> !since.plus(REPORTED_AFTER).isAfter(now)).ifPresent(since -> w.add("event sink "
                    + label + " has failed since " + since + " (" + lag + " events waiting in the outbox): "
                    + lastError.orElse("?")));
            if (lost > 0) {
                w.add("event sink " + label + " lost " + lost + " events: the outbox passed event_queue_limit while it was "
                        + "behind");
            }
            if (dropped > 0) {
                w.add("event sink " + label + " refused and dropped " + dropped + " events");
            }
            return w;
        }
    }

    private final EventSink sink;
    private final Supplier<Duration> retryMaximum;
    private final Clock clock;
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Object pause = new Object();
    private volatile String lastError;
    private volatile Instant failingSince;
    private volatile long position;
    private boolean retryNow;

    public SinkRunner(EventSink sink, Supplier<Duration> retryMaximum, Clock clock) {
        this.sink = sink;
        this.retryMaximum = retryMaximum;
        this.clock = clock;
    }

    public EventSink sink() {
        return sink;
    }

    /**
     * Delivers what the sink wants of {@code events} (in order, in batches) and returns when every
     * batch went through or was dropped; {@code advance} is told the sequence each batch covered.
     */
    void handle(List<DeliveryEvent> events, java.util.function.LongConsumer advance) throws InterruptedException {
        int max = Math.max(1, sink.maxBatch());
        for (int from = 0; from < events.size(); from += max) {
            List<DeliveryEvent> slice = events.subList(from, Math.min(events.size(), from + max));
            List<DeliveryEvent> wanted = slice.stream().filter(sink::wants).toList();
            if (!wanted.isEmpty()) {
                deliverWithRetries(wanted);
            }
            long last = slice.get(slice.size() - 1).sequence();
            position = last;
            advance.accept(last);
        }
    }

    private void deliverWithRetries(List<DeliveryEvent> batch) throws InterruptedException {
        int permanentTries = 0;
        for (int attempt = 1; ; attempt++) {
            try {
                sink.deliver(batch);
                delivered.addAndGet(batch.size());
                if (failingSince != null) {
                    log.info("events: sink {} delivers again ({} failed tries)", sink.label(), attempt - 1);
                }
                failingSince = null;
                return;
            } catch (SinkException e) {
                failures.incrementAndGet();
                lastError = e.getMessage();
                if (failingSince == null) {
                    failingSince = clock.instant();
                    log.warn("events: sink {} failed: {} (retrying with backoff; events wait in the outbox)", sink.label(),
                            e.getMessage());
                }
                if (e.permanent() && ++permanentTries >= PERMANENT_TRIES) {
                    dropped.addAndGet(batch.size());
                    log.error("events: sink {} refused {} events (sequences {}-{}) {} times: {}; dropped", sink.label(),
                            batch.size(), batch.get(0).sequence(), batch.get(batch.size() - 1).sequence(), permanentTries,
                            e.getMessage());
                    failingSince = null;
                    return;
                }
            } catch (RuntimeException e) {
                // A bug in a sink must not stop the others or loop fast: treated as a failure to retry.
                failures.incrementAndGet();
                lastError = e.toString();
                if (failingSince == null) {
                    failingSince = clock.instant();
                }
                log.warn("events: sink {} failed unexpectedly: {}", sink.label(), e.toString());
            }
            sleep(backoff(attempt));
        }
    }

    /** 1 s, 2 s, 4 s ... up to the maximum, each between half and all of it (jitter, so sinks and nodes spread out). */
    Duration backoff(int attempt) {
        long max = Math.max(FIRST_BACKOFF.toMillis(), retryMaximum.get().toMillis());
        long full = attempt >= 30 ? max : Math.min(max, FIRST_BACKOFF.toMillis() << (attempt - 1));
        return Duration.ofMillis(full / 2 + ThreadLocalRandom.current().nextLong(full / 2 + 1));
    }

    private void sleep(Duration d) throws InterruptedException {
        synchronized (pause) {
            long deadline = System.nanoTime() + d.toNanos();
            while (!retryNow) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                pause.wait(Math.max(1, left / 1_000_000));
            }
            retryNow = false;
        }
    }

    /** Ends the current wait between tries ({@code mta events retry}, tests): the next try starts now. */
    public void retryNow() {
        synchronized (pause) {
            retryNow = true;
            pause.notifyAll();
        }
    }

    /** Events lost before this sink took them (the outbox over {@code event_queue_limit}). */
    void lost(long count, long from, long to) {
        lost.addAndGet(count);
        log.error("events: sink {} lost {} events (sequences {}-{}): the outbox passed event_queue_limit while the sink "
                + "was behind", sink.label(), count, from, to);
    }

    void positionAt(long p) {
        position = p;
    }

    public Status status() {
        return new Status(sink.name(), sink.label(), position, delivered.get(), dropped.get(), lost.get(), failures.get(),
                Optional.ofNullable(lastError), Optional.ofNullable(failingSince));
    }
}
