package org.relaymta.core.internal.delivery;

import io.netty.handler.ssl.SslContext;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Credentials;
import org.relaymta.core.internal.delivery.sasl.SaslMechanism;
import org.relaymta.core.internal.delivery.sasl.SaslMechanisms;
import org.relaymta.core.internal.delivery.sasl.SaslTarget;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start of a session as a state machine on the event loop: connected, greeting, EHLO (HELO
 * for old servers), STARTTLS per level, EHLO again, AUTH; each step is one method that handles
 * one reply and sends the next command, each wait bounded by its Postfix timeout. Ends with an
 * {@link OpenSession} ready for MAIL, or with the failure worded as Postfix words it.
 */
final class SessionOpener {
    private static final Logger log = LoggerFactory.getLogger(SessionOpener.class);
    /** A server that keeps challenging is not followed forever. */
    private static final int MAX_SASL_ROUNDS = 5;

    /**
     * How opening ended: a session, or a failure. {@code established}: the server greeted us
     * positively. {@code retryWithoutTls}: level {@code may} and the TLS handshake failed, so the
     * same server is to be tried again in plain text.
     */
    record Opened(OpenSession session, Failure failure, boolean established, boolean retryWithoutTls,
                  boolean tokenRefused) {
        Opened(OpenSession session, Failure failure, boolean established, boolean retryWithoutTls) {
            this(session, failure, established, retryWithoutTls, false);
        }
    }

    private final SessionPolicy policy;
    private final String tlsHostName;
    private final int port;
    private final SslContext tlsContext;
    private final String helo;
    private final SmtpClientSettings timeouts;
    private final String queueId;
    private final String hostIp;
    private final String relay;
    private final String hostName;
    private final String receivingIp;
    private final boolean withoutTls;
    private final CompletableFuture<Opened> result = new CompletableFuture<>();
    private SmtpConnection conn;
    private boolean established;
    private SaslMechanism.Exchange sasl;
    private int saslRounds;
    private final SaslMechanisms mechanisms;
    private final OAuth2Tokens tokens;
    /** The profile and token this session authenticates with, when OAuth2. */
    private String tokenProfile;
    private String tokenUsed;
    private final PeerVerifier verifier;
    /** How the peer was checked: "may" (encrypted, not checked), "verified(pkix)", ...; "" in plain text. */
    private String trust = "";
    /** The session's TLS result for the reports (RFC 8460 result type or success); null while TLS was not tried. */
    private String tlsResult;
    private String tlsDetail = "";
    private Consumer<TlsSessionResult> tlsResults = r -> { };

    /**
     * @param tlsContext  the context for the policy's level (null for level none)
     * @param tlsHostName the name the certificate is checked against (the next hop for {@code secure})
     * @param withoutTls  this is the plain-text retry after a failed opportunistic handshake
     */
    SessionOpener(Target target, SessionPolicy policy, SslContext tlsContext, String tlsHostName, String helo,
                  SmtpClientSettings timeouts, String queueId, boolean withoutTls) {
        this(target, policy, tlsContext, tlsHostName, helo, timeouts, queueId, withoutTls, null, WITHOUT_TOKENS, null);
    }

    /** The mechanisms when no OAuth2 tokens are at hand. */
    private static final SaslMechanisms WITHOUT_TOKENS = new SaslMechanisms(p -> null);

    /**
     * @param tokens     where OAuth2 access tokens come from (null: no OAuth2 profiles)
     * @param mechanisms the client mechanisms, reading {@code tokens} (one set for all sessions)
     * @param verifier   checks the certificate after the handshake (null when the policy checks nothing)
     */
    SessionOpener(Target target, SessionPolicy policy, SslContext tlsContext, String tlsHostName, String helo,
                  SmtpClientSettings timeouts, String queueId, boolean withoutTls,
                  OAuth2Tokens tokens, SaslMechanisms mechanisms, PeerVerifier verifier) {
        this.verifier = verifier;
        this.tokens = tokens;
        this.mechanisms = mechanisms;
        this.policy = policy;
        this.tlsContext = tlsContext;
        this.tlsHostName = tlsHostName;
        this.port = target.port();
        this.helo = helo;
        this.timeouts = timeouts;
        this.queueId = queueId;
        this.hostName = target.hostName();
        this.hostIp = target.hostName() + "[" + target.address().getHostAddress() + "]";
        this.receivingIp = target.address().getHostAddress();
        this.relay = target.relay();
        this.withoutTls = withoutTls;
    }

    /** Where the session's TLS result goes when its requirements name a policy to report under. */
    SessionOpener reportingTo(Consumer<TlsSessionResult> sink) {
        this.tlsResults = sink;
        return this;
    }

    /** Runs the opening on a connection being made ({@link SmtpConnection#connect}). */
    CompletableFuture<Opened> open(CompletableFuture<SmtpConnection> connecting) {
        connecting.whenComplete(this::connected);
        result.whenComplete((o, e) -> reportTls());
        return result;
    }

    private void tls(String result, String detail) {
        tlsResult = result;
        tlsDetail = detail;
    }

    /** Counts the session under its policy: a failure to find the policy counts it as failed, whatever TLS did. */
    private void reportTls() {
        Optional<ReportPolicy> report = policy.tls().report();
        if (tlsResult == null || report.isEmpty() || conn == null) {
            return;
        }
        String outcome = report.get().discoveryFailure().orElse(tlsResult);
        String detail = report.get().discoveryFailure().isPresent() ? policy.tls().source() : tlsDetail;
        tlsResults.accept(new TlsSessionResult(report.get(), hostName, conn.localAddress(), receivingIp,
                outcome, outcome.equals(TlsSessionResult.SUCCESS) ? "" : detail));
    }

    private interface Step {
        void on(SmtpReply reply);
    }

    /** Waits for {@code reply}, then runs {@code next}; a session failure ends the opening. */
    private void then(CompletableFuture<SmtpReply> reply, Step next) {
        reply.whenComplete((r, e) -> {
            if (e != null) {
                Throwable cause = SmtpConnection.unwrap(e);
                if (cause instanceof SmtpSessionException s) {
                    fail(Failure.of(s, "4.4.2", relay));
                } else {
                    fail(new Failure("4.4.2", "conversation with " + hostIp + " failed: " + cause, relay));
                }
                return;
            }
            try {
                next.on(r);
            } catch (RuntimeException ex) {
                log.error("{}: session with {} failed", queueId, relay, ex);
                fail(new Failure("4.3.0", "local error in session with " + hostIp + ": " + ex, relay));
            }
        });
    }

    private void connected(SmtpConnection c, Throwable e) {
        if (e != null) {
            Throwable cause = SmtpConnection.unwrap(e);
            SmtpSessionException s = cause instanceof SmtpSessionException x ? x
                    : new SmtpSessionException(SmtpSessionException.Kind.CONNECT, "connect to " + relay + ": " + cause, cause);
            // Postfix names the relay once a connection was made, even if the wrapper handshake failed.
            fail(Failure.of(s, "4.4.1", policy.wrapper() && s.kind() != SmtpSessionException.Kind.CONNECT ? relay : "none"));
            return;
        }
        conn = c;
        if (policy.wrapper() && !peerAccepted()) {
            return;
        }
        then(conn.greeting(timeouts.heloTimeout()), this::greeted);
    }

    private void greeted(SmtpReply greeting) {
        if (!greeting.positive()) {
            fail(new Failure(greeting.enhancedStatus().replaceFirst("^5", "4"),
                    "host " + hostIp + " refused to talk to me: " + greeting.oneLine(), relay));
            return;
        }
        established = true;
        then(conn.command("EHLO " + helo, timeouts.heloTimeout()), reply -> ehloAnswered(reply, false));
    }

    private void ehloAnswered(SmtpReply ehlo, boolean afterTls) {
        if (ehlo.positive()) {
            capabilities(Capabilities.parse(ehlo), afterTls);
            return;
        }
        if (afterTls || ehlo.code() == 421) {
            // 421: the server is closing the connection; there is no HELO to try.
            fail(new Failure(ehlo.enhancedStatus().replaceFirst("^5", "4"),
                    "host " + hostIp + " said: " + ehlo.oneLine() + " (in reply to EHLO command)", relay));
            return;
        }
        // RFC 5321 4.1.4: an old server may only know HELO.
        then(conn.command("HELO " + helo, timeouts.heloTimeout()), helo -> {
            if (helo.positive()) {
                capabilities(Capabilities.NONE, false);
            } else {
                fail(new Failure(ehlo.enhancedStatus(), "host " + hostIp + " refused to talk to me: " + ehlo.oneLine(), relay));
            }
        });
    }

    private void capabilities(Capabilities caps, boolean afterTls) {
        TlsRequirements tls = policy.tls();
        if (afterTls || policy.wrapper() || tls.level() == TlsLevel.NONE) {
            authenticate(caps);
        } else if (caps.has("STARTTLS")) {
            conn.startTls(tlsContext, tlsHostName, port, timeouts.starttlsTimeout()).whenComplete((reply, e) -> {
                if (e != null) {
                    tlsFailed(SmtpConnection.unwrap(e));
                } else {
                    tlsAnswered(reply, caps);
                }
            });
        } else {
            tls("starttls-not-supported", "STARTTLS not offered by " + hostIp);
            if (tls.failureDefers()) {
                fail(new Failure("4.7.4", "TLS is required, but was not offered by host " + hostIp, relay));
            } else {
                authenticate(caps);
            }
        }
    }

    private void tlsAnswered(SmtpReply reply, Capabilities plain) {
        if (reply.code() == 220) {
            if (!peerAccepted()) {
                return;
            }
            then(conn.command("EHLO " + helo, timeouts.heloTimeout()), ehlo -> ehloAnswered(ehlo, true));
        } else if (policy.tls().failureDefers()) {
            tls("starttls-not-supported", "STARTTLS refused: " + reply.oneLine());
            fail(new Failure(reply.enhancedStatus().replaceFirst("^5", "4"), "TLS is required, but host " + hostIp
                    + " refused to start TLS: " + reply.oneLine(), relay));
        } else {
            tls("starttls-not-supported", "STARTTLS refused: " + reply.oneLine());
            authenticate(plain);
        }
    }

    private void tlsFailed(Throwable cause) {
        String why = cause instanceof SmtpSessionException s ? s.getMessage() : String.valueOf(cause);
        boolean handshake = cause instanceof SmtpSessionException s && s.kind() == SmtpSessionException.Kind.TLS;
        tls("validation-failure", "TLS handshake failed: " + why);
        if (handshake && !policy.tls().failureDefers() && !withoutTls && !why.contains("injection")) {
            log.warn("{}: TLS handshake with {} failed ({}); retrying without TLS", queueId, relay, why);
            conn.close();
            result.complete(new Opened(null, null, false, true));
            return;
        }
        fail(new Failure("4.7.5", "Cannot start TLS with " + hostIp + ": " + why, relay));
    }

    /** AUTH with the first mechanism the server offers, the filter allows and the credentials suit; never anonymous. */
    private void authenticate(Capabilities caps) {
        Optional<Credentials> credentials = policy.credentials();
        if (credentials.isEmpty()) {
            ready(caps);
            return;
        }
        if (caps.authMechanisms().isEmpty()) {
            log.warn("{}: credentials are configured for {} but it offers no AUTH; sending without authentication",
                    queueId, relay);
            ready(caps);
            return;
        }
        Optional<SaslMechanism> chosen = mechanisms.pick(caps.authMechanisms(), timeouts.saslMechanismFilter(),
                credentials.get());
        if (chosen.isEmpty()) {
            fail(new Failure("4.7.0", "SASL authentication failed: server " + hostIp
                    + " offered no compatible authentication mechanism (offered: "
                    + String.join(" ", caps.authMechanisms()) + ")", relay));
            return;
        }
        tokenProfile = credentials.get().oauth2Profile().orElse(null);
        if (conn.tls().isEmpty() && tokenProfile != null) {
            // A bearer token is as good as a password to whoever reads it: never in plaintext.
            fail(new Failure("4.7.0", "SASL authentication failed: OAuth2 needs TLS, but the session with " + hostIp
                    + " is not encrypted", relay));
            return;
        }
        tokenUsed = tokenProfile == null || tokens == null ? null : tokens.current(tokenProfile);
        try {
            sasl = chosen.get().start(credentials.get(), new SaslTarget(hostName, port));
        } catch (IllegalStateException e) {
            fail(new Failure("4.7.0", "SASL authentication failed: " + e.getMessage(), relay));
            return;
        }
        String initial = sasl.initialResponse();
        then(conn.command("AUTH " + chosen.get().name() + (initial == null ? "" : " " + initial),
                timeouts.heloTimeout(), "AUTH"), reply -> authAnswered(reply, caps));
    }

    private void authAnswered(SmtpReply reply, Capabilities caps) {
        if (reply.code() == 334 && saslRounds++ < MAX_SASL_ROUNDS) {
            String challenge = reply.lines().isEmpty() ? "" : reply.lines().get(0).strip();
            then(conn.command(sasl.respond(challenge), timeouts.heloTimeout(), "AUTH"), r -> authAnswered(r, caps));
            return;
        }
        if (reply.code() == 235) {
            ready(caps);
            return;
        }
        // smtp_sasl_auth_soft_bounce = yes: an AUTH rejection defers rather than bounces. The session
        // ends politely (QUIT), as Postfix's does: servers count abandoned connections against us.
        conn.quit(timeouts.quitTimeout());
        boolean tokenRefused = tokenUsed != null;
        if (tokenRefused) {
            // The server refused this token: it is not handed out again; the caller may try once with a new one.
            tokens.invalidate(tokenProfile, tokenUsed);
        }
        result.complete(new Opened(null, new Failure("4" + reply.enhancedStatus().substring(1),
                "SASL authentication failed; server " + hostIp + " said: " + reply.oneLine(), relay), established, false,
                tokenRefused));
    }

    private void ready(Capabilities caps) {
        String tls = conn.tls();
        if (policy.tls().requireTls() && (tls.isEmpty() || !caps.has("REQUIRETLS"))) {
            // RFC 8689 section 4.2.1: the next hop must take the obligation on; another MX may.
            conn.quit(timeouts.quitTimeout());
            result.complete(new Opened(null, new Failure("5.7.30", "REQUIRETLS support required, but host " + hostIp
                    + " does not offer REQUIRETLS", relay), true, false));
            return;
        }
        result.complete(new Opened(new OpenSession(conn, caps, tls.isEmpty() ? "" : tls + " " + trust), null, true, false));
    }

    /**
     * The certificate check of the policy, right after the handshake and before anything more is
     * sent; false (and the opening failed, the connection closed) when the peer does not pass it.
     * Postfix logs the result as Verified, Trusted or Untrusted TLS connection.
     */
    private boolean peerAccepted() {
        PeerCheck check = policy.tls().check();
        if (check.kind() == PeerCheck.Kind.NONE || verifier == null) {
            trust = "may";
            tls(TlsSessionResult.SUCCESS, "");
            return true;
        }
        Optional<PeerVerifier.Failure> problem = verifier.check(conn.sslSession(), check);
        if (problem.isEmpty()) {
            trust = "verified(" + check.label() + ")";
            tls(TlsSessionResult.SUCCESS, "");
            return true;
        }
        tls(problem.get().resultType(), problem.get().reason());
        if (!policy.tls().enforced()) {
            log.warn("{}: {} for {} ({}: {}); delivering anyway, as the policy is in testing mode", queueId,
                    problem.get().reason(), relay, policy.tls().source(), problem.get().resultType());
            trust = "may";
            return true;
        }
        fail(new Failure("4.7.5", problem.get().reason() + " (" + hostIp + ", " + policy.tls().source() + ")", relay));
        return false;
    }

    private void fail(Failure failure) {
        if (conn != null) {
            conn.close();
        }
        result.complete(new Opened(null, failure, established, false));
    }
}
