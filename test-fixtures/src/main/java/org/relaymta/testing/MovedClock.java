package org.relaymta.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The one clock the relay's tests move: backoff, expiry, rates and token lifetimes are tested by
 * moving it and asking the code to check now, never by sleeping. Safe to move from any thread.
 */
public final class MovedClock extends Clock {
    private final AtomicReference<Instant> now;

    /** Starts at a fixed instant (2026-12-01T10:00:00Z), so that a test reads the same every time. */
    public MovedClock() {
        this(Instant.parse("2026-12-01T10:00:00Z"));
    }

    /** Starts at {@code start} (the current time for tests against real peers that check dates). */
    public MovedClock(Instant start) {
        this.now = new AtomicReference<>(start);
    }

    public void advance(Duration d) {
        now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now.get();
    }
}
