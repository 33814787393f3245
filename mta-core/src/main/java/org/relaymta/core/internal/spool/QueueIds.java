package org.relaymta.core.internal.spool;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Queue ids: the arrival time in milliseconds and a counter, in upper-case hex (16 characters), so
 * that ids sort by arrival and are unique across restarts, like Postfix's long queue ids.
 */
final class QueueIds {
    private final AtomicInteger counter = new AtomicInteger(ThreadLocalRandom.current().nextInt(1 << 20));

    String next(long epochMillis) {
        int seq = counter.getAndIncrement() & 0xFFFFF;
        return String.format("%011X%05X", epochMillis & 0xFFFFFFFFFFFL, seq);
    }

    /** The arrival time an id was made with (its first 11 hex digits). */
    static long arrivalMillis(String id) {
        return Long.parseLong(id.substring(0, 11), 16);
    }

    static boolean looksLikeId(String name) {
        if (name.length() != 16) {
            return false;
        }
        for (int i = 0; i < 16; i++) {
            char c = name.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
                return false;
            }
        }
        return true;
    }
}
