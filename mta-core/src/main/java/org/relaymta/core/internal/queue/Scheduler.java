package org.relaymta.core.internal.queue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * The due set: which message is next tried when. One entry per message id; scheduling again
 * replaces the earlier time. It never reads a clock: the caller says what "now" is, so a test
 * moves time instead of sleeping.
 */
final class Scheduler {
    private record Due(long at, String id) {
    }

    private final ConcurrentSkipListSet<Due> due = new ConcurrentSkipListSet<>(
            Comparator.comparingLong(Due::at).thenComparing(Due::id));
    private final Map<String, Due> byId = new ConcurrentHashMap<>();

    /** Tries {@code id} at {@code when} (replacing any earlier schedule of it). */
    void schedule(String id, Instant when) {
        Due d = new Due(when.toEpochMilli(), id);
        Due old = byId.put(id, d);
        if (old != null) {
            due.remove(old);
        }
        due.add(d);
    }

    void unschedule(String id) {
        Due old = byId.remove(id);
        if (old != null) {
            due.remove(old);
        }
    }

    /**
     * Removes and returns the ids due at or before {@code nowMillis}, earliest first. Safe against a
     * concurrent caller (the queue's timer and an operator's flush): each entry goes to one of them,
     * and walking the set, unlike {@code first()} after {@code isEmpty()}, cannot fail when the other
     * took the last one in between.
     */
    List<String> takeDue(long nowMillis) {
        List<String> ids = new ArrayList<>();
        for (Due d : due) {
            if (d.at() > nowMillis) {
                break;
            }
            if (due.remove(d)) {
                byId.remove(d.id(), d);
                ids.add(d.id());
            }
        }
        return ids;
    }

    int size() {
        return byId.size();
    }
}
