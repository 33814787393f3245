package org.relaymta.core.internal.spool;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many bytes of message content all messages being received may hold in memory together. A
 * message that cannot get more goes to disk instead ({@link SpoolWriter} spills to its own file),
 * so a burst of large messages, or a milter that sends a large body back, slows down instead of
 * exhausting the heap. Nothing is refused for want of memory here.
 */
public final class MemoryBudget {
    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public MemoryBudget(long limit) {
        this.limit = limit;
    }

    /** A quarter of the heap, and at least 16 MiB: room for many small messages, never for a heap's worth of large ones. */
    public static MemoryBudget forHeap() {
        return new MemoryBudget(Math.max(16L << 20, Runtime.getRuntime().maxMemory() / 4));
    }

    /** Takes {@code bytes} if they are free; false (nothing taken) otherwise. */
    public boolean tryReserve(long bytes) {
        while (true) {
            long now = used.get();
            if (now + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    public void release(long bytes) {
        used.addAndGet(-bytes);
    }

    public long used() {
        return used.get();
    }

    public long limit() {
        return limit;
    }
}
