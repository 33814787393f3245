package org.relaymta.core.internal.delivery;

import java.util.List;
import org.relaymta.config.internal.NextHop;

/** Turns a next hop into the ordered server addresses to try (relay-semantics section 2). */
public interface HostResolver extends AutoCloseable {

    /**
     * Bracketed hops: the host's A/AAAA records. Unbracketed: its MX hosts in preference order (equal
     * preferences shuffled), each with its addresses; the host itself when it has no MX.
     */
    List<Target> resolve(NextHop hop) throws ResolveException;

    @Override
    default void close() {
    }
}
