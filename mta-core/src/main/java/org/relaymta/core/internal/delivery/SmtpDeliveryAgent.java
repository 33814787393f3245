package org.relaymta.core.internal.delivery;

import com.google.gson.JsonObject;
import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.TransportTable;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * The outbound SMTP client, what Postfix's {@code smtp} delivery agent does per request: a {@link
 * DeliveryAttempt} walks the route's servers ({@link RouteSelector}), asks the destination policy
 * ({@link DestinationPolicy}: {@link TablePolicy}, with {@link DanePolicy}) for each server's TLS requirements, gets
 * sessions from {@link Sessions} (cached, or opened by {@link SessionOpener}) and runs a {@link
 * MailTransaction} on each, all on the event loops.
 */
public final class SmtpDeliveryAgent implements DeliveryAgent {
    private final RouteSelector routes;
    private final TablePolicy policy;
    private final Sessions sessions;
    private final int directPort;
    private final RelayHealth health;
    private final TlsPolicyExplainer explainer;
    private final RelayPools pools;
    private final EventLoopGroup group;

    /**
     * @param directPort the port for direct MX delivery (25; tests and closed networks override it)
     */
    public SmtpDeliveryAgent(EventLoopGroup group, HostResolver resolver, int directPort) {
        this(group, resolver, directPort, null);
    }

    /** {@code tokens}: OAuth2 access tokens for credentials written {@code {oauth2}PROFILE}. */
    public SmtpDeliveryAgent(EventLoopGroup group, HostResolver resolver, int directPort,
                             OAuth2Tokens tokens) {
        this(group, resolver, directPort, tokens, Clock.systemUTC());
    }

    /** {@code clock}: the engine's, for the relay hops' circuit breakers. */
    public SmtpDeliveryAgent(EventLoopGroup group, HostResolver resolver, int directPort,
                             OAuth2Tokens tokens, Clock clock) {
        this(group, resolver, directPort, tokens, clock, null);
    }

    /** {@code sts}: the recipient domains' MTA-STS policies (null: MTA-STS is not used). */
    public SmtpDeliveryAgent(EventLoopGroup group, HostResolver resolver, int directPort,
                             OAuth2Tokens tokens, Clock clock, MtaSts sts) {
        this.routes = new RouteSelector(resolver);
        this.policy = new TablePolicy(new DanePolicy(resolver instanceof DnsHostResolver dns ? dns.policyLookups() : null),
                sts == null ? null : sts::policy);
        this.sessions = new Sessions(group, tokens);
        this.group = group;
        this.directPort = directPort;
        this.health = new RelayHealth(clock);
        this.explainer = new TlsPolicyExplainer(routes, policy, sts, directPort, clock);
        this.pools = new RelayPools(health);
    }

    /** The relay next hops' circuit breakers. */
    public RelayHealth health() {
        return health;
    }

    /** Told about every new outbound session once opened or failed: its result and TLS protocol and cipher (or ""). */
    public void onSession(BiConsumer<String, String> observer) {
        sessions.onSession(observer);
    }

    /** Told the TLS result of every session to a recipient domain's MX, and of the policies that left none to try. */
    public void onTlsResult(Consumer<TlsSessionResult> sink) {
        sessions.onTlsResult(sink);
        policy.onResult(sink);
    }

    /** The DNS questions MTA-STS and the TLS reports ask (TXT, one address), when DNS is the engine's own. */
    public static Optional<MtaSts.PolicyDns> policyDns(HostResolver resolver) {
        return resolver instanceof DnsHostResolver dns ? Optional.of(dns.policyLookups()) : Optional.empty();
    }

    /** The TLS policy mail to {@code domain}'s MX would be under now, as JSON ({@code mta route}). */
    public CompletableFuture<JsonObject> explainTls(RelayConfig config, String domain) {
        return explainer.explain(config, domain);
    }

    @Override
    public CompletableFuture<List<DeliveryOutcome>> deliver(DeliveryRequest request) {
        sessions.cacheTimeLimit(request.config().delivery().smtp().connectionCacheTimeLimit());
        Optional<TransportTable.Entry> action = request.route().action();
        if (action.isPresent()) {
            // Completed on an event loop as every session's outcome is, never on the caller's thread
            // (which may be committing the message and must not finish its attempt inside that).
            return CompletableFuture.supplyAsync(() -> carryOut(request, action.get()), group.next());
        }
        return new DeliveryAttempt(request, routes, policy, sessions, directPort, health, pools).run();
    }

    /** A transport entry's error:, retry: or discard:, without a session, as Postfix's error and discard agents. */
    private static List<DeliveryOutcome> carryOut(DeliveryRequest request, TransportTable.Entry t) {
        DeliveryOutcome.Status status = switch (t.kind()) {
            case ERROR -> DeliveryOutcome.Status.BOUNCED;
            case RETRY -> DeliveryOutcome.Status.DEFERRED;
            default -> DeliveryOutcome.Status.SENT;
        };
        String reason = t.text() + " (transport_maps " + t.location() + ")";
        return request.recipients().stream().map(r -> new DeliveryOutcome(r, status, t.dsn(), reason, "none", "", 0, 0, false))
                .toList();
    }

    /** Closes cached idle sessions (QUIT) and stops resolving. */
    public void close() {
        sessions.close();
        routes.close();
    }
}
