package org.relaymta.core.delivery;

import org.relaymta.core.delivery.sasl.SaslMechanism;
import org.relaymta.core.delivery.sasl.SaslMechanisms;
import org.relaymta.core.delivery.sasl.SaslTarget;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLSession;
import org.relaymta.config.Credentials;
import org.relaymta.config.NextHop;
import org.relaymta.config.Route;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound SMTP client: walks a route's next hops and their servers in order, and runs the
 * transaction (EHLO, STARTTLS per policy, AUTH, MAIL, RCPT, DATA) until every recipient has a final
 * answer or the hosts are exhausted. What Postfix's {@code smtp} delivery agent does per request.
 */
public final class SmtpDeliveryAgent implements DeliveryAgent {
    private static final Logger log = LoggerFactory.getLogger(SmtpDeliveryAgent.class);
    /** Postfix smtp_mx_session_limit: sessions per request before giving up. */
    static final int SESSION_LIMIT = 2;

    private final EventLoopGroup group;
    /** Per next hop, the server of its last good session: where {@link #deliverOnCachedSession} looks. */
    private final Map<NextHop, Target> lastTargets = new java.util.concurrent.ConcurrentHashMap<>();
    private final HostResolver resolver;
    private final int directPort;
    private final TlsContexts tlsContexts = new TlsContexts();
    private final ConnectionCache cache = new ConnectionCache(20);
    private volatile Duration cacheTimeLimit = Duration.ofSeconds(2);
    private volatile java.util.function.BiConsumer<String, String> sessionObserver = (result, tls) -> { };
    /** Servers that failed recently are tried after the others. */
    private final RouteDatabase routes = new RouteDatabase();

    /**
     * @param directPort the port for direct MX delivery (25; tests and closed networks override it)
     */
    public SmtpDeliveryAgent(EventLoopGroup group, HostResolver resolver, int directPort) {
        this.group = group;
        this.resolver = resolver;
        this.directPort = directPort;
        group.next().scheduleAtFixedRate(() -> cache.expire(cacheTimeLimit), 500, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Told about every new outbound session once it is ready for MAIL, with its TLS protocol and cipher (or ""). */
    public void onSession(java.util.function.BiConsumer<String, String> observer) {
        this.sessionObserver = observer;
    }

    /** Closes cached idle sessions (QUIT). */
    public void close() {
        cache.closeAll();
    }

    /** A failure that applies to every recipient still undecided. */
    /** A failure for every recipient still undecided; {@code session}: no usable session was had. */
    private record Failure(String dsn, String reason, String relay, boolean session) {
        Failure(String dsn, String reason, String relay) {
            this(dsn, reason, relay, "none".equals(relay));
        }

        boolean permanent() {
            return dsn.startsWith("5");
        }

        Failure ofSession() {
            return new Failure(dsn, reason, relay, true);
        }
    }

    /** Runs one delivery request; returns one outcome per recipient. */
    @Override
    public List<DeliveryOutcome> deliver(DeliveryRequest request) {
        long started = System.nanoTime();
        cacheTimeLimit = request.config().smtp().connectionCacheTimeLimit();
        Route route = request.route();
        Map<String, DeliveryOutcome> decided = new LinkedHashMap<>();
        Set<String> remaining = new LinkedHashSet<>(request.recipients());
        Map<String, Failure> failures = new LinkedHashMap<>();
        Failure lastFailure = null;
        boolean anySoftFailure = false;

        List<NextHop> hops = route.direct()
                ? List.of(new NextHop(route.directDomain().orElse(""), directPort, true, route.directDomain().orElse("")))
                : route.nextHops();
        int sessions = 0;
        hopLoop:
        for (NextHop hop : hops) {
            List<Target> targets;
            try {
                targets = routes.order(resolver.resolve(hop));
            } catch (ResolveException e) {
                Failure f;
                if (e.permanent() && route.defaultRelay()) {
                    // Postfix's safety net: a broken relayhost setting defers instead of bouncing.
                    f = new Failure("4.3.5", e.getMessage() + " (relayhost configuration problem)", "none");
                } else {
                    f = new Failure(e.dsn(), e.getMessage(), "none");
                }
                lastFailure = f;
                anySoftFailure |= !f.permanent();
                if ("5.1.10".equals(e.dsn())) {
                    break;
                }
                continue;
            }
            for (Target target : targets) {
                if (remaining.isEmpty()) {
                    break hopLoop;
                }
                SessionResult result = session(request, hop, target, remaining, false, started);
                if (result.retryWithoutTls) {
                    result = session(request, hop, target, remaining, true, started);
                }
                if (result.established && result.sessionFailure == null && !result.retryWithoutTls) {
                    // Where the next message for this hop will find a cached session.
                    lastTargets.put(hop, target);
                }
                if (result.sessionFailure != null && result.sessionFailure.session()) {
                    routes.failed(target, request.config().queue().minimalBackoffTime());
                } else if (result.established) {
                    routes.succeeded(target);
                }
                for (DeliveryOutcome o : result.decided.values()) {
                    decided.put(o.recipient(), o);
                    remaining.remove(o.recipient());
                    failures.remove(o.recipient());
                }
                failures.putAll(result.deferred);
                if (result.sessionFailure != null) {
                    lastFailure = result.sessionFailure;
                    anySoftFailure |= !lastFailure.permanent();
                }
                if (!result.deferred.isEmpty()) {
                    anySoftFailure = true;
                }
                if (result.established && ++sessions >= SESSION_LIMIT) {
                    break hopLoop;
                }
            }
            if (remaining.isEmpty()) {
                break;
            }
        }
        double setup = seconds(started);
        for (String rcpt : remaining) {
            Failure f = failures.getOrDefault(rcpt, lastFailure);
            if (f == null) {
                f = new Failure("4.4.1", "no next hop to deliver to", "none");
            }
            DeliveryOutcome.Status status = f.permanent() && !anySoftFailure
                    ? DeliveryOutcome.Status.BOUNCED : DeliveryOutcome.Status.DEFERRED;
            String dsn = status == DeliveryOutcome.Status.DEFERRED && f.permanent() ? "4" + f.dsn().substring(1) : f.dsn();
            decided.put(rcpt, new DeliveryOutcome(rcpt, status, dsn, f.reason(), f.relay(), "", setup, 0, f.session()));
        }
        List<DeliveryOutcome> ordered = new ArrayList<>();
        for (String rcpt : request.recipients()) {
            ordered.add(decided.get(rcpt));
        }
        return ordered;
    }

    private static final class SessionResult {
        final Map<String, DeliveryOutcome> decided = new LinkedHashMap<>();
        final Map<String, Failure> deferred = new LinkedHashMap<>();
        Failure sessionFailure;
        boolean established;
        boolean retryWithoutTls;
        /** A cached connection turned out to be dead before anything was decided: open a new one. */
        boolean staleCachedConnection;
    }

    /** An open, greeted, EHLO'd (and per policy encrypted and authenticated) session. */
    private record OpenSession(SmtpConnection connection, Ehlo ehlo, String tls) {
    }

    private SessionResult session(DeliveryRequest request, NextHop hop, Target target, Set<String> recipients,
                                  boolean withoutTls, long requestStarted) {
        SessionPolicy policy = SessionPolicy.of(request.route(), hop, target, withoutTls);
        String cacheKey = policy.cacheKey(target);
        ConnectionCache.Idle idle = cache.take(cacheKey);
        if (idle != null) {
            OpenSession reused = new OpenSession(idle.connection(), (Ehlo) idle.ehlo(), idle.tls());
            SessionResult r = transaction(request, reused, target, recipients, requestStarted, cacheKey, true);
            if (!r.staleCachedConnection) {
                return r;
            }
        }
        SessionResult result = new SessionResult();
        OpenSession open = open(request, hop, target, policy.level(), policy.wrapper(), policy.credentials(), withoutTls,
                result);
        if (open == null) {
            return result;
        }
        return transaction(request, open, target, recipients, requestStarted, cacheKey, false);
    }

    /** How a session to a target is set up (TLS level, wrapper mode, credentials); equal policies share cached sessions. */
    private record SessionPolicy(TlsLevel level, boolean wrapper, Optional<Credentials> credentials) {
        static SessionPolicy of(Route route, NextHop hop, Target target, boolean withoutTls) {
            TlsLevel level = withoutTls ? TlsLevel.NONE : route.tlsLevel();
            boolean wrapper = route.wrapperMode() || target.port() == 465;
            if (wrapper && !level.mandatory()) {
                level = TlsLevel.ENCRYPT;
            }
            return new SessionPolicy(level, wrapper, route.credentialsFor(target.hostName(), hop));
        }

        String cacheKey(Target target) {
            return target.relay() + "|" + level + "|" + wrapper + "|" + credentials.map(Credentials::key).orElse("-")
                    + "|" + credentials.map(Credentials::username).orElse("-");
        }
    }

    /**
     * The whole transaction on an idle cached session to the server this route's first next hop
     * used last, driven by the event loop so that no thread waits for the replies. Returns null when
     * no such session is cached or the message needs something the session lacks. Completes with
     * null when anything but a clean delivery happened: the session is then closed, the server
     * accepted nothing (or refused the content), and the caller runs {@link #deliver}, which handles
     * every case.
     */
    @Override
    public java.util.concurrent.CompletableFuture<List<DeliveryOutcome>> deliverOnCachedSession(DeliveryRequest request) {
        Route route = request.route();
        if (route.direct() || route.nextHops().isEmpty()) {
            return null;
        }
        NextHop hop = route.nextHops().get(0);
        Target target = lastTargets.get(hop);
        if (target == null) {
            return null;
        }
        String key = SessionPolicy.of(route, hop, target, false).cacheKey(target);
        ConnectionCache.Idle idle = cache.take(key);
        if (idle == null) {
            return null;
        }
        SmtpConnection conn = idle.connection();
        Ehlo ehlo = (Ehlo) idle.ehlo();
        boolean needsUtf8 = !isAscii(request.sender()) || request.recipients().stream().anyMatch(r -> !isAscii(r));
        if (!ehlo.has("PIPELINING") || (ehlo.sizeLimit > 0 && request.size() > ehlo.sizeLimit)
                || (needsUtf8 && !ehlo.has("SMTPUTF8")) || (request.eightBit() && !ehlo.has("8BITMIME"))) {
            if (!cache.offer(key, idle)) {
                conn.quitAsync();
            }
            return null;
        }
        SmtpClientSettings timeouts = request.config().smtp();
        long started = System.nanoTime();
        List<String> batch = new ArrayList<>();
        batch.add(mailCommand(request, ehlo, needsUtf8));
        for (String rcpt : request.recipients()) {
            batch.add("RCPT TO:<" + rcpt + ">");
        }
        batch.add("DATA");
        List<java.util.concurrent.CompletableFuture<SmtpReply>> replies = conn.pipeline(batch);
        java.util.concurrent.CompletableFuture<List<DeliveryOutcome>> result = new java.util.concurrent.CompletableFuture<>();
        conn.within(java.util.concurrent.CompletableFuture.allOf(replies.toArray(new java.util.concurrent.CompletableFuture[0])),
                timeouts.rcptTimeout()).whenComplete((ignored, failure) -> {
            boolean clean = failure == null && replies.get(replies.size() - 1).join().code() == 354;
            for (int i = 0; clean && i < replies.size() - 1; i++) {
                clean = replies.get(i).join().positive();
            }
            InputStream content = null;
            if (clean) {
                try {
                    content = request.content().open();
                } catch (IOException e) {
                    clean = false;
                }
            }
            if (!clean) {
                conn.close();
                result.complete(null);
                return;
            }
            double setup = seconds(started);
            long transmitStart = System.nanoTime();
            InputStream opened = content;
            conn.sendContentAsync(opened, timeouts.lineLengthLimit(), timeouts.dataXferTimeout(), timeouts.dataDoneTimeout())
                    .whenComplete((done, error) -> {
                        try {
                            opened.close();
                        } catch (IOException ignoredClose) {
                            // read-only spool stream
                        }
                        if (error != null || !done.positive()) {
                            conn.close();
                            result.complete(null);
                            return;
                        }
                        List<DeliveryOutcome> outcomes = new ArrayList<>();
                        for (String rcpt : request.recipients()) {
                            outcomes.add(new DeliveryOutcome(rcpt, DeliveryOutcome.Status.SENT, done.enhancedStatus(),
                                    done.oneLine(), target.relay(), idle.tls(), setup, seconds(transmitStart)));
                        }
                        if (!cache.offer(key, new ConnectionCache.Idle(conn, ehlo, idle.tls(), System.nanoTime()))) {
                            conn.quitAsync();
                        }
                        result.complete(outcomes);
                    });
        });
        return result;
    }

    private static String mailCommand(DeliveryRequest request, Ehlo ehlo, boolean needsUtf8) {
        StringBuilder mail = new StringBuilder("MAIL FROM:<").append(request.sender()).append('>');
        if (ehlo.has("SIZE")) {
            mail.append(" SIZE=").append(request.size());
        }
        if (request.eightBit()) {
            mail.append(" BODY=8BITMIME");
        }
        if (needsUtf8) {
            mail.append(" SMTPUTF8");
        }
        return mail.toString();
    }

    /**
     * Connects and runs greeting, EHLO, STARTTLS and AUTH per policy; null (with the failure set in
     * {@code result}) if that fails. Every session is reported to the observer with its result.
     */
    private OpenSession open(DeliveryRequest request, NextHop hop, Target target, TlsLevel level, boolean wrapper,
                             Optional<Credentials> credentials, boolean withoutTls, SessionResult result) {
        OpenSession session = openSession(request, hop, target, level, wrapper, credentials, withoutTls, result);
        sessionObserver.accept(session != null ? "ok" : sessionResult(result), session != null ? session.tls() : "");
        if (session == null && result.sessionFailure != null) {
            // Connect, greeting, EHLO, TLS or AUTH failed: no usable session, for throttling and route memory.
            result.sessionFailure = result.sessionFailure.ofSession();
        }
        return session;
    }

    /** What became of a session that could not be used, for the session metrics. */
    private static String sessionResult(SessionResult result) {
        Failure f = result.sessionFailure;
        if (result.retryWithoutTls || (f != null && (f.dsn().equals("4.7.5") || f.dsn().equals("4.7.4")
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

    private OpenSession openSession(DeliveryRequest request, NextHop hop, Target target, TlsLevel level, boolean wrapper,
                                    Optional<Credentials> credentials, boolean withoutTls, SessionResult result) {
        SmtpClientSettings timeouts = request.config().smtp();
        String hostIp = target.hostName() + "[" + target.address().getHostAddress() + "]";
        String relay = target.relay();
        String tlsHostName = level == TlsLevel.SECURE ? hop.host() : target.hostName();
        SmtpConnection conn;
        try {
            SslContext implicit = wrapper ? tlsContexts.forLevel(level, timeouts) : null;
            conn = SmtpConnection.connect(group, target.socketAddress(), target.hostName(), timeouts.connectTimeout(),
                    implicit, tlsHostName);
        } catch (SmtpSessionException e) {
            result.sessionFailure = new Failure(e.kind() == SmtpSessionException.Kind.TLS ? "4.7.5" : "4.4.1",
                    e.getMessage(), wrapper && e.kind() != SmtpSessionException.Kind.CONNECT ? relay : "none");
            return null;
        }
        boolean ok = false;
        try {
            SmtpReply greeting = conn.awaitGreeting(timeouts.heloTimeout());
            if (!greeting.positive()) {
                result.sessionFailure = new Failure(greeting.enhancedStatus().replaceFirst("^5", "4"),
                        "host " + hostIp + " refused to talk to me: " + greeting.oneLine(), relay);
                return null;
            }
            result.established = true;
            String helo = request.config().myhostname();
            Ehlo ehlo = ehlo(conn, helo, timeouts);
            if (ehlo.reply != null && !ehlo.reply.positive()) {
                result.sessionFailure = new Failure(ehlo.reply.enhancedStatus(),
                        "host " + hostIp + " refused to talk to me: " + ehlo.reply.oneLine(), relay);
                return null;
            }
            if (!wrapper && level != TlsLevel.NONE) {
                if (ehlo.has("STARTTLS")) {
                    SmtpReply tlsReply;
                    try {
                        tlsReply = conn.startTls(tlsContexts.forLevel(level, timeouts), tlsHostName, target.port(),
                                timeouts.starttlsTimeout());
                    } catch (SmtpSessionException e) {
                        if (e.kind() == SmtpSessionException.Kind.TLS && level == TlsLevel.MAY && !withoutTls
                                && !e.getMessage().contains("injection")) {
                            log.warn("{}: TLS handshake with {} failed ({}); retrying without TLS", request.queueId(),
                                    relay, e.getMessage());
                            result.retryWithoutTls = true;
                            result.established = false;
                            return null;
                        }
                        result.sessionFailure = new Failure("4.7.5", "Cannot start TLS with " + hostIp + ": "
                                + e.getMessage(), relay);
                        return null;
                    }
                    if (tlsReply.code() != 220) {
                        if (level.mandatory()) {
                            result.sessionFailure = new Failure(tlsReply.enhancedStatus().replaceFirst("^5", "4"),
                                    "TLS is required, but host " + hostIp + " refused to start TLS: "
                                            + tlsReply.oneLine(), relay);
                            return null;
                        }
                    } else {
                        ehlo = ehlo(conn, helo, timeouts);
                        if (ehlo.reply != null && !ehlo.reply.positive()) {
                            result.sessionFailure = new Failure(ehlo.reply.enhancedStatus().replaceFirst("^5", "4"),
                                    "host " + hostIp + " said: " + ehlo.reply.oneLine() + " (in reply to EHLO command)", relay);
                            return null;
                        }
                    }
                } else if (level.mandatory()) {
                    result.sessionFailure = new Failure("4.7.4",
                            "TLS is required, but was not offered by host " + hostIp, relay);
                    return null;
                }
            }
            String tls = tlsDescription(conn.tlsSession());
            if (credentials.isPresent()) {
                if (ehlo.authMechanisms.isEmpty()) {
                    log.warn("{}: credentials are configured for {} but it offers no AUTH; sending without authentication",
                            request.queueId(), relay);
                } else {
                    Failure authFailure = authenticate(conn, ehlo, credentials.get(), target, hostIp, relay,
                            timeouts, request.config().smtp().saslMechanismFilter());
                    if (authFailure != null) {
                        result.sessionFailure = authFailure;
                        return null;
                    }
                }
            }
            ok = true;
            return new OpenSession(conn, ehlo, tls);
        } catch (SmtpSessionException e) {
            result.sessionFailure = new Failure(e.kind() == SmtpSessionException.Kind.TLS ? "4.7.5" : "4.4.2",
                    e.getMessage(), relay);
            return null;
        } finally {
            if (!ok) {
                conn.close();
            }
        }
    }

    /** MAIL, RCPT..., DATA on an open session (pipelined when offered); caches the session afterwards when it is clean. */
    private SessionResult transaction(DeliveryRequest request, OpenSession session, Target target, Set<String> recipients,
                                      long requestStarted, String cacheKey, boolean reused) {
        SessionResult result = new SessionResult();
        result.established = true;
        SmtpConnection conn = session.connection();
        Ehlo ehlo = session.ehlo();
        String tls = session.tls();
        SmtpClientSettings timeouts = request.config().smtp();
        String hostIp = target.hostName() + "[" + target.address().getHostAddress() + "]";
        String relay = target.relay();
        boolean reusable = false;
        boolean anyReply = false;
        try {
            if (ehlo.sizeLimit > 0 && request.size() > ehlo.sizeLimit) {
                for (String rcpt : recipients) {
                    result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, "5.3.4",
                            "message size " + request.size() + " exceeds size limit " + ehlo.sizeLimit
                                    + " of server " + hostIp, relay, tls, seconds(requestStarted), 0));
                }
                reusable = true;
                return result;
            }
            boolean needsUtf8 = !isAscii(request.sender()) || recipients.stream().anyMatch(r -> !isAscii(r));
            if (needsUtf8 && !ehlo.has("SMTPUTF8")) {
                for (String rcpt : recipients) {
                    result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, "5.6.7",
                            "SMTPUTF8 is required, but was not offered by host " + hostIp, relay, tls,
                            seconds(requestStarted), 0));
                }
                reusable = true;
                return result;
            }
            if (request.eightBit() && !ehlo.has("8BITMIME")) {
                // RFC 6152: never send 8-bit content undeclared. Another host may support it; else retry later.
                result.sessionFailure = new Failure("4.6.3", "8-bit message content, but host " + hostIp
                        + " does not announce 8BITMIME support and conversion is not supported", relay);
                reusable = true;
                return result;
            }
            String mail = mailCommand(request, ehlo, needsUtf8);
            List<String> rcptList = new ArrayList<>(recipients);
            SmtpReply mailReply;
            List<SmtpReply> rcptReplies = new ArrayList<>();
            SmtpReply dataReply = null;
            if (ehlo.has("PIPELINING")) {
                List<String> batch = new ArrayList<>();
                batch.add(mail);
                for (String rcpt : rcptList) {
                    batch.add("RCPT TO:<" + rcpt + ">");
                }
                batch.add("DATA");
                List<java.util.concurrent.CompletableFuture<SmtpReply>> replies = conn.pipeline(batch);
                mailReply = conn.awaitReply(replies.get(0), timeouts.mailTimeout(), "MAIL FROM");
                anyReply = true;
                for (int i = 0; i < rcptList.size(); i++) {
                    rcptReplies.add(conn.awaitReply(replies.get(i + 1), timeouts.rcptTimeout(), "RCPT TO"));
                }
                dataReply = conn.awaitReply(replies.get(replies.size() - 1), timeouts.dataInitTimeout(), "DATA");
            } else {
                mailReply = conn.command(mail, timeouts.mailTimeout());
                anyReply = true;
                if (mailReply.positive()) {
                    for (String rcpt : rcptList) {
                        rcptReplies.add(conn.command("RCPT TO:<" + rcpt + ">", timeouts.rcptTimeout()));
                    }
                }
            }
            if (!mailReply.positive()) {
                Failure f = new Failure(mailReply.enhancedStatus(), "host " + hostIp + " said: " + mailReply.oneLine()
                        + " (in reply to MAIL FROM command)", relay);
                if (f.permanent()) {
                    for (String rcpt : recipients) {
                        result.decided.put(rcpt, outcome(rcpt, DeliveryOutcome.Status.BOUNCED, f, tls, requestStarted, 0));
                    }
                } else {
                    result.sessionFailure = f;
                }
                reusable = finishRejectedData(conn, dataReply, timeouts);
                return result;
            }
            List<String> accepted = new ArrayList<>();
            for (int i = 0; i < rcptList.size(); i++) {
                String rcpt = rcptList.get(i);
                SmtpReply r = rcptReplies.get(i);
                if (r.positive()) {
                    accepted.add(rcpt);
                    continue;
                }
                Failure f = new Failure(r.enhancedStatus(), "host " + hostIp + " said: " + r.oneLine()
                        + " (in reply to RCPT TO command)", relay);
                if (f.permanent()) {
                    result.decided.put(rcpt, outcome(rcpt, DeliveryOutcome.Status.BOUNCED, f, tls, requestStarted, 0));
                } else {
                    result.deferred.put(rcpt, f);
                }
            }
            if (accepted.isEmpty()) {
                if (dataReply == null) {
                    conn.command("RSET", timeouts.mailTimeout());
                    reusable = true;
                } else {
                    reusable = finishRejectedData(conn, dataReply, timeouts);
                }
                return result;
            }
            double setupSeconds = seconds(requestStarted);
            long transmitStart = System.nanoTime();
            if (dataReply == null) {
                dataReply = conn.command("DATA", timeouts.dataInitTimeout());
            }
            if (dataReply.code() != 354) {
                decideAll(result, accepted, new Failure(dataReply.enhancedStatus(), "host " + hostIp + " said: "
                        + dataReply.oneLine() + " (in reply to DATA command)", relay), tls, setupSeconds, seconds(transmitStart));
                reusable = true;
                return result;
            }
            SmtpReply done;
            try (InputStream content = request.content().open()) {
                done = conn.sendContent(content, timeouts.lineLengthLimit(), timeouts.dataXferTimeout(),
                        timeouts.dataDoneTimeout());
            }
            double transmitSeconds = seconds(transmitStart);
            if (done.positive()) {
                for (String rcpt : accepted) {
                    result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.SENT, done.enhancedStatus(),
                            done.oneLine(), relay, tls, setupSeconds, transmitSeconds));
                }
            } else {
                decideAll(result, accepted, new Failure(done.enhancedStatus(), "host " + hostIp + " said: "
                        + done.oneLine() + " (in reply to end of DATA command)", relay), tls, setupSeconds, transmitSeconds);
            }
            reusable = true;
            return result;
        } catch (SmtpSessionException e) {
            if (reused && !anyReply && e.kind() != SmtpSessionException.Kind.TIMEOUT) {
                // The server closed the cached session while it was idle: nothing was decided, open a new one.
                result.staleCachedConnection = true;
                return result;
            }
            result.sessionFailure = new Failure(e.kind() == SmtpSessionException.Kind.TLS ? "4.7.5" : "4.4.2",
                    e.getMessage(), relay);
            return result;
        } catch (IOException e) {
            result.sessionFailure = new Failure("4.3.0", "cannot read queued message: " + e.getMessage(), relay);
            return result;
        } finally {
            if (reusable && conn.open()) {
                if (!cache.offer(cacheKey, new ConnectionCache.Idle(conn, ehlo, tls, System.nanoTime()))) {
                    conn.quit(timeouts.quitTimeout());
                }
            } else {
                conn.close();
            }
        }
    }

    /**
     * After a pipelined DATA that the server accepted although no recipient was (RFC 2920 3.1), the
     * transaction must be ended with an empty message. Returns whether the session is clean.
     */
    private static boolean finishRejectedData(SmtpConnection conn, SmtpReply dataReply, SmtpClientSettings timeouts)
            throws SmtpSessionException {
        if (dataReply != null && dataReply.code() == 354) {
            conn.sendContent(InputStream.nullInputStream(), 0, timeouts.dataXferTimeout(), timeouts.dataDoneTimeout());
        }
        return true;
    }

    private static void decideAll(SessionResult result, List<String> rcpts, Failure f, String tls, double setup,
                                  double transmit) {
        for (String rcpt : rcpts) {
            if (f.permanent()) {
                result.decided.put(rcpt, new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, f.dsn(), f.reason(),
                        f.relay(), tls, setup, transmit));
            } else {
                result.deferred.put(rcpt, f);
            }
        }
    }

    private static DeliveryOutcome outcome(String rcpt, DeliveryOutcome.Status status, Failure f, String tls,
                                           long requestStarted, double transmit) {
        return new DeliveryOutcome(rcpt, status, f.dsn(), f.reason(), f.relay(), tls, seconds(requestStarted), transmit);
    }

    /** The server's EHLO answer: extensions, AUTH mechanisms, SIZE. */
    private static final class Ehlo {
        SmtpReply reply;
        final Set<String> keywords = new HashSet<>();
        final List<String> authMechanisms = new ArrayList<>();
        long sizeLimit;

        boolean has(String keyword) {
            return keywords.contains(keyword);
        }
    }

    private static Ehlo ehlo(SmtpConnection conn, String helo, SmtpClientSettings timeouts) throws SmtpSessionException {
        Ehlo ehlo = new Ehlo();
        SmtpReply reply = conn.command("EHLO " + helo, timeouts.heloTimeout());
        if (!reply.positive()) {
            // RFC 5321 4.1.4: an old server may only know HELO.
            SmtpReply heloReply = conn.command("HELO " + helo, timeouts.heloTimeout());
            ehlo.reply = heloReply.positive() ? null : reply;
            return ehlo;
        }
        List<String> lines = reply.lines();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            String[] words = line.split("[\\s=]+");
            if (words.length == 0 || words[0].isEmpty()) {
                continue;
            }
            String keyword = words[0].toUpperCase(Locale.ROOT);
            ehlo.keywords.add(keyword);
            if (keyword.equals("AUTH")) {
                for (int w = 1; w < words.length; w++) {
                    String mech = words[w].toUpperCase(Locale.ROOT);
                    if (!ehlo.authMechanisms.contains(mech)) {
                        ehlo.authMechanisms.add(mech);
                    }
                }
            } else if (keyword.equals("SIZE") && words.length > 1) {
                try {
                    ehlo.sizeLimit = Long.parseLong(words[1]);
                } catch (NumberFormatException ignored) {
                    // a malformed SIZE value is treated as "no limit announced"
                }
            }
        }
        return ehlo;
    }

    /** A server that keeps challenging is not followed forever. */
    private static final int MAX_SASL_ROUNDS = 5;

    /**
     * AUTH with the first mechanism of {@link SaslMechanisms} that the server offers, the filter
     * allows and the credentials suit; never an anonymous one. Returns null on success.
     */
    private static Failure authenticate(SmtpConnection conn, Ehlo ehlo, Credentials credentials, Target target,
                                        String hostIp, String relay, SmtpClientSettings timeouts, List<String> filter)
            throws SmtpSessionException {
        Optional<SaslMechanism> chosen = SaslMechanisms.choose(ehlo.authMechanisms, filter, credentials);
        if (chosen.isEmpty()) {
            return new Failure("4.7.0", "SASL authentication failed: server " + hostIp
                    + " offered no compatible authentication mechanism (offered: " + String.join(" ", ehlo.authMechanisms) + ")",
                    relay);
        }
        SaslMechanism.Exchange exchange = chosen.get().start(credentials, new SaslTarget(target.hostName(), target.port()));
        String initial = exchange.initialResponse();
        SmtpReply reply = conn.command("AUTH " + chosen.get().name() + (initial == null ? "" : " " + initial),
                timeouts.heloTimeout(), "AUTH");
        for (int round = 0; reply.code() == 334 && round < MAX_SASL_ROUNDS; round++) {
            String challenge = reply.lines().isEmpty() ? "" : reply.lines().get(0).strip();
            reply = conn.command(exchange.respond(challenge), timeouts.heloTimeout(), "AUTH");
        }
        if (reply.code() == 235) {
            return null;
        }
        // smtp_sasl_auth_soft_bounce = yes: an AUTH rejection defers rather than bounces. The session
        // ends politely (QUIT), as Postfix's does: servers count abandoned connections against us.
        String dsn = "4" + reply.enhancedStatus().substring(1);
        conn.quit(timeouts.quitTimeout());
        return new Failure(dsn, "SASL authentication failed; server " + hostIp + " said: " + reply.oneLine(), relay);
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }

    private static String tlsDescription(SSLSession session) {
        return session == null ? "" : session.getProtocol() + " " + session.getCipherSuite();
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
