package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;

/** Turns a next hop into the ordered server addresses to try, without blocking the caller. */
public interface HostResolver extends AutoCloseable {

    /**
     * Bracketed hops: the host's A/AAAA records. Unbracketed: its MX hosts in preference order (equal
     * preferences shuffled), each with its addresses; the host itself when it has no MX. Fails with a
     * {@link ResolveException} (its status says whether to try again later).
     */
    CompletableFuture<List<Target>> resolve(NextHop hop);

    @Override
    default void close() {
    }
}
