package org.relaymta.core.internal.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Who runs which spool, when nodes take each other's spools over: a lease per spool with a fencing
 * generation that only grows. {@link RedisSpoolLeases} keeps them in Redis; a test keeps them in
 * memory on a moved clock. Calls may fail (Redis away): the caller treats that as "not known",
 * never as "free".
 */
public interface SpoolLeases {
    /** The node holding a spool's lease and its generation. */
    record Holder(String node, long generation) {
    }

    /**
     * Takes the lease of a spool nobody holds, for {@code lease}, with a generation above both the
     * last one handed out and {@code atLeast} (the generation written in the spool). Empty when
     * someone holds it.
     */
    OptionalLong acquire(String spool, String node, Duration lease, long atLeast) throws Exception;

    /**
     * Keeps a lease: true when {@code node} with {@code generation} still holds it (or, after Redis
     * lost its data, holds it again); false when another node holds it now.
     */
    boolean renew(String spool, String node, long generation, Duration lease) throws Exception;

    /** Gives a lease up, if {@code node} with {@code generation} still holds it. */
    void release(String spool, String node, long generation) throws Exception;

    Optional<Holder> holder(String spool) throws Exception;

    /** Every lease held now, by spool. */
    Map<String, Holder> all() throws Exception;

    /** The owner of {@code spool} is back and asks for it (kept for {@code ttl}, asked again while it waits). */
    void ask(String spool, String node, Duration ttl) throws Exception;

    /** Whether the owner asks for {@code spool} back. */
    boolean asked(String spool) throws Exception;

    /** An operator's {@code mta cluster handback}: the adopter gives {@code spool} back at once, drained or not. */
    void handBackNow(String spool, Duration ttl) throws Exception;

    boolean handBackNowAsked(String spool) throws Exception;

    /**
     * A value that stays the same for as long as the store keeps its data (Redis: a key set once);
     * a change says the leases were lost (a restart), and every owner needs a round to put its own back.
     */
    String epoch() throws Exception;
}
