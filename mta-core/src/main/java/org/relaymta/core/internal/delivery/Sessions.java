package org.relaymta.core.internal.delivery;

import io.netty.channel.EventLoopGroup;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.NextHop;
import org.relaymta.core.internal.delivery.sasl.SaslMechanisms;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * Where sessions come from and go back to: opens new ones ({@link SessionOpener} on a fresh
 * connection), hands out idle cached ones, and takes a session back after a transaction (cached
 * when clean and room is left, else QUIT). Reports every new session to the observer.
 */
final class Sessions {
    private final EventLoopGroup group;
    private final TlsContexts tlsContexts = new TlsContexts(Clock.systemUTC());
    private final ConnectionCache cache = new ConnectionCache(20);
    private volatile Duration cacheTimeLimit = Duration.ofSeconds(2);
    private volatile BiConsumer<String, String> observer = (result, tls) -> { };
    private volatile Consumer<TlsSessionResult> tlsResults = r -> { };
    private final OAuth2Tokens tokens;
    private final SaslMechanisms mechanisms;

    /** {@code tokens}: OAuth2 access tokens for {@code {oauth2}} credentials (null: none configured). */
    Sessions(EventLoopGroup group, OAuth2Tokens tokens) {
        this.group = group;
        this.tokens = tokens;
        this.mechanisms = new SaslMechanisms(tokens == null ? p -> null : tokens::current);
        group.next().scheduleAtFixedRate(() -> cache.expire(cacheTimeLimit), 500, 500,
                TimeUnit.MILLISECONDS);
    }

    void onSession(BiConsumer<String, String> observer) {
        this.observer = observer;
    }

    /** Where the TLS result of each session to a recipient domain's MX goes (TLS reports, metrics). */
    void onTlsResult(Consumer<TlsSessionResult> sink) {
        this.tlsResults = sink;
    }

    /** Idle sessions are kept this long ({@code smtp_connection_cache_time_limit}, from the latest request). */
    void cacheTimeLimit(Duration limit) {
        this.cacheTimeLimit = limit;
    }

    /** An idle cached session for this key, or null. */
    ConnectionCache.Idle idle(String key) {
        return cache.take(key);
    }

    /**
     * Connects to {@code target} and opens a session per {@code policy}. With OAuth2 credentials a
     * fresh access token is had first (one request per profile, shared); without one there is no
     * session, and the mail is deferred ({@code 4.7.0}), never bounced.
     */
    CompletableFuture<SessionOpener.Opened> open(DeliveryRequest request, NextHop hop, Target target, SessionPolicy policy,
                                                 boolean withoutTls) {
        String profile = policy.credentials().flatMap(Credentials::oauth2Profile).orElse(null);
        if (profile == null || tokens == null) {
            return connectAndOpen(request, hop, target, policy, withoutTls);
        }
        return tokens.token(profile).handle((token, error) -> error).thenCompose(error -> {
            if (error == null) {
                return connectAndOpen(request, hop, target, policy, withoutTls);
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            SessionOpener.Opened none = new SessionOpener.Opened(null, new Failure("4.7.0",
                    "SASL authentication failed: no OAuth2 access token: " + cause.getMessage(), "none"), false, false);
            observer.accept("auth_failed", "");
            return CompletableFuture.completedFuture(none);
        });
    }

    private CompletableFuture<SessionOpener.Opened> connectAndOpen(DeliveryRequest request, NextHop hop, Target target,
                                                                   SessionPolicy policy, boolean withoutTls) {
        SmtpClientSettings settings = request.config().delivery().smtp();
        TlsRequirements tls = policy.tls();
        String tlsHostName = tls.serverName(target);
        CompletableFuture<SmtpConnection> connecting;
        try {
            var context = tls.level() == TlsLevel.NONE ? null : tlsContexts.forSession(tls, settings);
            PeerVerifier verifier = tls.check().kind() == PeerCheck.Kind.NONE ? null
                    : tlsContexts.verifier(settings, request.config().delivery().tls());
            connecting = SmtpConnection.connect(group, target.socketAddress(), target.hostName(), settings.connectTimeout(),
                    policy.wrapper() ? context : null, tlsHostName);
            return new SessionOpener(target, policy, context, tlsHostName, request.config().myhostname(), settings,
                    request.queueId(), withoutTls, tokens, mechanisms, verifier).reportingTo(tlsResults).open(connecting).thenApply(this::observed);
        } catch (IllegalStateException e) {
            // The TLS context or trust cannot be built (bad smtp_tls_CAfile): no session for anything at this level.
            return CompletableFuture.completedFuture(new SessionOpener.Opened(null,
                    new Failure("4.7.5", e.getMessage(), "none"), false, false));
        }
    }

    private SessionOpener.Opened observed(SessionOpener.Opened opened) {
        observer.accept(opened.session() != null ? "ok" : result(opened), opened.session() != null ? opened.session().tls() : "");
        return opened;
    }

    /** What became of a session that could not be used, for the session metrics. */
    private static String result(SessionOpener.Opened opened) {
        Failure f = opened.failure();
        if (opened.retryWithoutTls() || (f != null && (f.dsn().equals("4.7.5") || f.dsn().equals("4.7.4")
                || f.reason().startsWith("TLS is required")))) {
            return "tls_failed";
        }
        if (f == null) {
            return "failed";
        }
        if (f.reason().startsWith("SASL authentication failed")) {
            return "auth_failed";
        }
        if (f.reason().contains("refused to talk to me")) {
            return "refused";
        }
        if (f.reason().contains("timed out")) {
            return "timeout";
        }
        return f.relay().equals("none") ? "connect_failed" : "failed";
    }

    /** Takes a session back after a transaction: cached when clean and there is room, else ended. */
    void release(String key, OpenSession session, boolean clean, Duration quitTimeout) {
        SmtpConnection conn = session.connection();
        if (!clean || !conn.open()) {
            conn.close();
        } else if (!cache.offer(key, new ConnectionCache.Idle(conn, session, System.nanoTime()))) {
            conn.quit(quitTimeout);
        }
    }

    /** Says QUIT to every idle session. */
    void close() {
        cache.closeAll();
    }
}
