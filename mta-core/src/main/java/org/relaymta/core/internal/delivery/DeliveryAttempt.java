package org.relaymta.core.internal.delivery;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Route;

/**
 * One delivery request, as Postfix's {@code smtp} runs it, in three rooms: the route (the next hops
 * in order, each hop's servers in the {@link RouteSelector}'s order), the session (the
 * {@link DestinationPolicy}'s TLS requirements for that server, then {@link Sessions}) and the
 * transaction ({@link MailTransaction}); one session per server (a cached one when
 * idle, else a new one), until every recipient has a final answer, the servers are exhausted, or
 * {@code smtp_mx_session_limit} sessions were had. Nothing here waits: each step continues when
 * the previous one completes (DNS, the destination policy and the sessions all on the event loops).
 */
final class DeliveryAttempt {
    /** Postfix smtp_mx_session_limit: sessions per request before giving up. */
    static final int SESSION_LIMIT = 2;

    private final DeliveryRequest request;
    private final RouteSelector routes;
    private final DestinationPolicy policy;
    private final Sessions sessions;
    private final List<NextHop> hops;
    private final long started = System.nanoTime();
    private final Map<String, DeliveryOutcome> decided = new LinkedHashMap<>();
    private final Set<String> remaining;
    private final Map<String, Failure> failures = new LinkedHashMap<>();
    /** Servers already had a session with in this request (a cached session's server is not tried twice). */
    private final Set<String> tried = new HashSet<>();
    private final CompletableFuture<List<DeliveryOutcome>> done = new CompletableFuture<>();
    private Failure lastFailure;
    private boolean anySoftFailure;
    private int sessionCount;
    private int nextHop;
    /** A server refused an OAuth2 token once in this attempt: the retry with a new one was had. */
    private boolean tokenRetried;
    /** The send gate held the transaction back (a quota, a shaping action): nothing more is tried. */
    private Failure held;

    private final RelayHealth health;
    /** Whether the hop being walked had a good session (for its breaker). */
    private boolean hopSucceeded;
    private boolean hopTried;

    DeliveryAttempt(DeliveryRequest request, RouteSelector routes, DestinationPolicy policy, Sessions sessions, int directPort,
                    RelayHealth health) {
        this(request, routes, policy, sessions, directPort, health, null);
    }

    /** {@code pools}: the order of a balance pool's hops (null: as configured). */
    DeliveryAttempt(DeliveryRequest request, RouteSelector routes, DestinationPolicy policy, Sessions sessions, int directPort,
                    RelayHealth health, RelayPools pools) {
        this.request = request;
        this.health = health;
        this.routes = routes;
        this.policy = policy;
        this.sessions = sessions;
        Route route = request.route();
        this.hops = route.direct()
                ? List.of(NextHop.direct(route.directDomain().orElse(""), directPort))
                : pools == null ? route.nextHops() : pools.order(route.nextHops());
        this.remaining = new LinkedHashSet<>(request.recipients());
    }

    CompletableFuture<List<DeliveryOutcome>> run() {
        try {
            if (!onCachedSession()) {
                nextHop();
            }
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
        return done;
    }

    /**
     * The common case first: an idle cached session to the server the first hop used last, without
     * resolving the hop again. Returns false when there is none.
     */
    private boolean onCachedSession() {
        if (hops.isEmpty() || request.route().direct()) {
            return false;
        }
        NextHop hop = hops.get(0);
        Target target = routes.lastGood(hop);
        if (target == null) {
            return false;
        }
        TlsRequirements tls;
        try {
            tls = policy.tls(request, hop, target).getNow(null);
        } catch (RuntimeException e) {
            return false;   // the normal walk meets the policy's failure and words it
        }
        if (tls == null) {
            return false;   // a policy still being looked up: not the quick path
        }
        SessionPolicy session = SessionPolicy.of(request.route(), hop, target, tls);
        ConnectionCache.Idle idle = sessions.idle(session.cacheKey(target));
        if (idle == null) {
            return false;
        }
        transaction(hop, target, session, idle.session(), true).whenComplete((r, e) -> step(() -> {
            if (e != null) {
                throw new IllegalStateException(e);
            }
            if (r.stale) {
                // Closed while idle: the normal walk opens a new session (and may find another idle one).
                nextHop();
                return;
            }
            tried.add(target.relay());
            absorb(hop, target, r, true);
            nextHop();
        }));
        return true;
    }

    private void nextHop() {
        if (remaining.isEmpty() || nextHop >= hops.size() || sessionCount >= SESSION_LIMIT || held != null) {
            finish();
            return;
        }
        NextHop hop = hops.get(nextHop++);
        if (!request.route().direct() && !health.allow(hop.asWritten())) {
            // An open breaker: no connection until its probe; the next hop, or a deferral without one.
            lastFailure = new Failure("4.4.1", "relay health: next hop " + hop.asWritten() + " is unavailable after "
                    + "repeated failed sessions; next probe at " + health.openUntil(hop.asWritten()), "none");
            anySoftFailure = true;
            nextHop();
            return;
        }
        hopSucceeded = false;
        hopTried = false;
        routes.targets(hop).whenComplete((targets, e) -> step(() -> {
            if (e != null) {
                Throwable cause = SmtpConnection.unwrap(e);
                if (!(cause instanceof ResolveException re)) {
                    throw new IllegalStateException(cause);
                }
                resolveFailed(re);
                if ("5.1.10".equals(re.dsn())) {
                    finish();
                } else {
                    nextHop();
                }
                return;
            }
            nextTarget(hop, targets.iterator());
        }));
    }

    private void resolveFailed(ResolveException e) {
        Failure f;
        if (e.permanent() && request.route().defaultRelay()) {
            // Postfix's safety net: a broken relayhost setting defers instead of bouncing.
            f = new Failure("4.3.5", e.getMessage() + " (relayhost configuration problem)", "none");
        } else {
            f = new Failure(e.dsn(), e.getMessage(), "none");
        }
        lastFailure = f;
        anySoftFailure |= !f.permanent();
    }

    private void nextTarget(NextHop hop, Iterator<Target> targets) {
        if (remaining.isEmpty() || sessionCount >= SESSION_LIMIT || held != null) {
            hopDone(hop);
            finish();
            return;
        }
        if (!targets.hasNext()) {
            hopDone(hop);
            nextHop();
            return;
        }
        Target target = targets.next();
        if (!tried.add(target.relay())) {
            nextTarget(hop, targets);
            return;
        }
        session(hop, target, false).whenComplete((r, e) -> step(() -> {
            if (e != null) {
                throw new IllegalStateException(e);
            }
            nextTarget(hop, targets);
        }));
    }

    /**
     * One session with {@code target}, under the destination policy's TLS requirements (the
     * plain-text retry after a failed opportunistic handshake has none).
     */
    private CompletableFuture<Void> session(NextHop hop, Target target, boolean withoutTls) {
        if (withoutTls) {
            return session(hop, target, SessionPolicy.of(request.route(), hop, target,
                    TlsRequirements.none("plain-text retry after a failed opportunistic TLS handshake")), true);
        }
        return policy.tls(request, hop, target).handle((tls, e) -> {
            if (e != null) {
                Throwable cause = SmtpConnection.unwrap(e);
                String dsn = cause instanceof TlsPolicyException p ? p.dsn() : "4.7.5";
                lastFailure = new Failure(dsn, "TLS policy for " + target.relay()
                        + (cause instanceof TlsPolicyException ? ": " : " is not available: ") + cause.getMessage(), "none");
                anySoftFailure |= !lastFailure.permanent();
                return CompletableFuture.<Void>completedFuture(null);
            }
            return session(hop, target, SessionPolicy.of(request.route(), hop, target, tls), false);
        }).thenCompose(f -> f);
    }

    /** One session with {@code target}: an idle cached one if any, else a new one (and a plain-text retry for level may). */
    private CompletableFuture<Void> session(NextHop hop, Target target, SessionPolicy policy, boolean withoutTls) {
        String key = policy.cacheKey(target);
        ConnectionCache.Idle idle = sessions.idle(key);
        if (idle != null) {
            return transaction(hop, target, policy, idle.session(), true).thenCompose(r -> {
                if (r.stale) {
                    return session(hop, target, policy, withoutTls);
                }
                absorb(hop, target, r, !withoutTls);
                return CompletableFuture.completedFuture(null);
            });
        }
        return sessions.open(request, hop, target, policy, withoutTls).thenCompose(opened -> {
            if (opened.retryWithoutTls()) {
                return session(hop, target, true);
            }
            if (opened.tokenRefused() && !tokenRetried) {
                // A 535 for a cached token (revoked, or expired early): once more with a freshly fetched one.
                tokenRetried = true;
                return session(hop, target, policy, withoutTls);
            }
            if (opened.session() == null) {
                Failure f = opened.failure().ofSession();
                if (request.gate().pacing(target.hostName(), hop, f.dsn(), f.reason())) {
                    // The provider answered "slower" (a greeting or AUTH refusal a shaping rule knows): it works.
                    hopTried = true;
                    hopSucceeded = true;
                } else {
                    // A server was talked to (or refused the connection); a token endpoint's refusal is not the hop's fault.
                    hopTried |= !"none".equals(f.relay());
                    routes.failed(target, request.config().queue().minimalBackoffTime());
                }
                lastFailure = f;
                anySoftFailure |= !f.permanent();
                if (opened.established()) {
                    sessionCount++;
                }
                return CompletableFuture.completedFuture(null);
            }
            hopTried = true;
            return transaction(hop, target, policy, opened.session(), false).thenAccept(r -> absorb(hop, target, r, !withoutTls));
        });
    }

    /**
     * The transaction on a ready session, once the request's {@link SendGate} lets it go: a short
     * wait keeps the session (a timer on its event loop, no thread held); a hold gives the session
     * back to the cache and ends the attempt with the gate's reason.
     */
    private CompletableFuture<MailTransaction.Result> transaction(NextHop hop, Target target, SessionPolicy policy,
                                                                 OpenSession session, boolean reused) {
        CompletableFuture<MailTransaction.Result> out = new CompletableFuture<>();
        whenReady(hop, target, policy, session, reused, out);
        return out;
    }

    private void whenReady(NextHop hop, Target target, SessionPolicy policy, OpenSession session, boolean reused,
                           CompletableFuture<MailTransaction.Result> out) {
        var loop = session.connection().eventLoop();
        CompletableFuture<SendGate.Pass> asked = request.gate().ready(hop, target);
        if (asked.isDone()) {
            // The common case (no quota, or one counted here): on this thread, as without a gate.
            asked.whenComplete((pass, e) -> passed(hop, target, policy, session, reused, out, pass, e));
        } else {
            asked.whenCompleteAsync((pass, e) -> passed(hop, target, policy, session, reused, out, pass, e), loop);
        }
    }

    private void passed(NextHop hop, Target target, SessionPolicy policy, OpenSession session, boolean reused,
                        CompletableFuture<MailTransaction.Result> out, SendGate.Pass pass, Throwable e) {
        if (e != null) {
            out.completeExceptionally(e);
        } else if (pass.sends()) {
            new MailTransaction(session, target, request, remaining, started, reused).run().thenApply(r -> {
                if (!r.stale) {
                    sessions.release(policy.cacheKey(target), session, r.reusable, request.config().delivery().smtp().quitTimeout());
                }
                return r;
            }).whenComplete((r, f) -> {
                if (f != null) {
                    out.completeExceptionally(f);
                } else {
                    out.complete(r);
                }
            });
        } else if (pass.held()) {
            sessions.release(policy.cacheKey(target), session, true, request.config().delivery().smtp().quitTimeout());
            held = new Failure(pass.dsn(), pass.reason(), target.relay(), false);
            out.complete(new MailTransaction.Result());
        } else {
            session.connection().eventLoop().schedule(() -> whenReady(hop, target, policy, session, reused, out),
                    pass.delay().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    /** A hop whose servers were all tried without one good session counts one failure on its breaker. */
    private void hopDone(NextHop hop) {
        if (!request.route().direct() && hopTried && !hopSucceeded) {
            health.failed(hop.asWritten(), request.config().delivery().relayFailureThreshold());
        }
    }

    /** Takes in what one session decided. */
    private void absorb(NextHop hop, Target target, MailTransaction.Result r, boolean remember) {
        sessionCount++;
        boolean paced = r.sessionFailure != null
                && request.gate().pacing(target.hostName(), hop, r.sessionFailure.dsn(), r.sessionFailure.reason());
        if (!request.route().direct() && (r.sessionFailure == null || paced)) {
            hopSucceeded = true;
            health.succeeded(hop.asWritten());
        }
        routes.succeeded(hop, target, remember && r.sessionFailure == null);
        for (DeliveryOutcome o : r.decided.values()) {
            decided.put(o.recipient(), o);
            remaining.remove(o.recipient());
            failures.remove(o.recipient());
        }
        failures.putAll(r.deferred);
        if (r.sessionFailure != null) {
            lastFailure = r.sessionFailure;
            anySoftFailure |= !lastFailure.permanent();
        }
        if (!r.deferred.isEmpty()) {
            anySoftFailure = true;
        }
    }

    /** Runs a continuation; anything it throws ends the attempt with that failure instead of losing it. */
    private void step(Runnable next) {
        try {
            next.run();
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
    }

    private void finish() {
        double setup = MailTransaction.seconds(started);
        for (String rcpt : remaining) {
            Failure f = held != null ? held : failures.getOrDefault(rcpt, lastFailure);
            if (f == null) {
                f = new Failure("4.4.1", "no next hop to deliver to", "none");
            }
            DeliveryOutcome.Status status = f.permanent() && !anySoftFailure && held == null
                    ? DeliveryOutcome.Status.BOUNCED : DeliveryOutcome.Status.DEFERRED;
            String dsn = status == DeliveryOutcome.Status.DEFERRED && f.permanent() ? "4" + f.dsn().substring(1) : f.dsn();
            decided.put(rcpt, new DeliveryOutcome(rcpt, status, dsn, f.reason(), f.relay(), "", setup, 0, f.session()));
        }
        List<DeliveryOutcome> ordered = new ArrayList<>(request.recipients().size());
        for (String rcpt : request.recipients()) {
            ordered.add(decided.get(rcpt));
        }
        done.complete(ordered);
    }
}
