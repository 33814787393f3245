package org.relaymta.core.queue;

import java.util.List;
import java.util.Optional;

/**
 * The recipients that bounced hard ({@code suppress_hard_bounces = yes}) or that an operator
 * suppressed: on disk in the spool, or shared by every node through Redis when {@code MTA_REDIS_URL}
 * is set. Entries expire after {@code suppression_lifetime}. The same list backs {@code mta suppress}
 * and the admin endpoint's {@code /suppressions}.
 */
public interface SuppressionList {
    /** The entries in force, by address. */
    List<Suppression> list();

    /** The entry for {@code address} (case-insensitive), if it is suppressed now. */
    Optional<Suppression> find(String address);

    /** Suppresses {@code address} for {@code suppression_lifetime} from now; an entry already there starts again. */
    Suppression add(String address, String reason);

    /** Ends the suppression of {@code address}; false when it was not suppressed. */
    boolean remove(String address);
}
