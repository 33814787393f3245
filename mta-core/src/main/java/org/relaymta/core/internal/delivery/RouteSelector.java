package org.relaymta.core.internal.delivery;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.config.internal.NextHop;

/**
 * The servers to try for a next hop, in order: the resolver's order (MX preference, then
 * addresses) with targets that failed recently moved last ({@link RouteDatabase}), and per next
 * hop the server of its last good session, where an idle cached session is likely to be found.
 * Resolution is asynchronous (Netty's DNS resolver on the event loops); nothing here blocks.
 */
final class RouteSelector implements AutoCloseable {
    private final HostResolver resolver;
    private final RouteDatabase failures = new RouteDatabase();
    private final Map<NextHop, Target> lastGood = new ConcurrentHashMap<>();
    private volatile boolean closed;

    RouteSelector(HostResolver resolver) {
        this.resolver = resolver;
    }

    /** The hop's targets in the order to try them; fails with a {@link ResolveException}. */
    CompletableFuture<List<Target>> targets(NextHop hop) {
        if (closed) {
            return CompletableFuture.failedFuture(new ResolveException("4.3.0", "relay is shutting down"));
        }
        try {
            return resolver.resolve(hop).thenApply(failures::order);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
    /** The server of the hop's last good session, or null. */
    Target lastGood(NextHop hop) {
        return lastGood.get(hop);
    }

    /** A session to {@code target} was usable. */
    void succeeded(NextHop hop, Target target, boolean remember) {
        failures.succeeded(target);
        if (remember) {
            lastGood.put(hop, target);
        }
    }

    /** No usable session could be had with {@code target}: try it after the others for {@code backoff}. */
    void failed(Target target, Duration backoff) {
        failures.failed(target, backoff);
    }

    @Override
    public void close() {
        closed = true;
    }
}
