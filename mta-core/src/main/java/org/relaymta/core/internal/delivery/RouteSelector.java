package org.relaymta.core.internal.delivery;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.relaymta.config.internal.NextHop;

/**
 * The servers to try for a next hop, in order: the resolver's order (MX preference, then
 * addresses) with targets that failed recently moved last ({@link RouteDatabase}), and per next
 * hop the server of its last good session, where an idle cached session is likely to be found.
 * Resolution may block (DNS), so it runs on a resolver thread, never on the event loop.
 */
final class RouteSelector implements AutoCloseable {
    private final HostResolver resolver;
    private final RouteDatabase failures = new RouteDatabase();
    private final Map<NextHop, Target> lastGood = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor resolving;

    RouteSelector(HostResolver resolver) {
        this.resolver = resolver;
        AtomicInteger n = new AtomicInteger();
        this.resolving = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "mta-resolve-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.resolving.allowCoreThreadTimeOut(true);
    }

    /** The hop's targets in the order to try them; fails with a {@link ResolveException}. */
    CompletableFuture<List<Target>> targets(NextHop hop) {
        CompletableFuture<List<Target>> result = new CompletableFuture<>();
        try {
            resolving.execute(() -> {
                try {
                    result.complete(failures.order(resolver.resolve(hop)));
                } catch (ResolveException | RuntimeException e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            result.completeExceptionally(new ResolveException("4.3.0", "relay is shutting down"));
        }
        return result;
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
        resolving.shutdownNow();
    }
}
