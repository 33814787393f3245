package org.relaymta.core.internal.sts;

import io.netty.handler.codec.http.HttpMethod;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.relaymta.core.internal.tls.HttpsRequests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A recipient domain's MTA-STS policy (RFC 8461) when the relay delivers to its MX: the
 * {@code _mta-sts} TXT record says whether there is one and its id; the policy comes from
 * {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} (PKIX-valid for that name, no redirects,
 * at most 64 KiB, within {@link #FETCH_TIMEOUT}), is kept in memory and in {@code SPOOL/mta-sts/}
 * for its max_age, and is fetched again when the TXT id changes. A failed fetch keeps the cached
 * policy until it expires; without one the domain has no policy (and the failure is reported).
 * The TXT record of a domain whose policy is known is asked again after {@link #TXT_RECHECK}, so a
 * busy destination costs one DNS question per interval, not one per message.
 */
public final class MtaSts {
    private static final Logger log = LoggerFactory.getLogger(MtaSts.class);
    static final Duration TXT_RECHECK = Duration.ofMinutes(5);
    static final Duration FETCH_TIMEOUT = Duration.ofSeconds(30);
    static final int MAX_POLICY = 64 * 1024;

    /** The lookups MTA-STS needs, through the relay's own resolver. */
    public interface PolicyDns {
        /** TXT strings of {@code name} (each record's strings joined); empty when there are none. */
        CompletableFuture<List<String>> txt(String name);

        /** The first address of {@code host}. */
        CompletableFuture<InetAddress> address(String host);
    }

    /**
     * The answer for a domain.
     *
     * @param policy  the policy in force (maybe of mode none), or empty
     * @param failure RFC 8460 result type of a failed discovery ({@code sts-policy-fetch-error},
     *                {@code sts-policy-invalid}, {@code sts-webpki-invalid}) when it left no policy, or
     *                the cached one in force
     * @param detail  what failed, for the log
     */
    public record Lookup(Optional<StsPolicy> policy, Optional<String> failure, String detail) {
        static Lookup none() {
            return new Lookup(Optional.empty(), Optional.empty(), "");
        }

        static Lookup of(StsPolicy p) {
            return new Lookup(Optional.of(p), Optional.empty(), "");
        }
    }

    private record Known(Optional<StsPolicy> policy, Instant txtChecked, Lookup last) {
    }

    private final PolicyDns dns;
    private final Supplier<HttpsRequests> https;
    private final PolicyCache disk;
    private final Clock clock;
    private final Map<String, Known> known = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Lookup>> inFlight = new ConcurrentHashMap<>();

    /** {@code https}: the client for the trust in force at each fetch. */
    public MtaSts(PolicyDns dns, Supplier<HttpsRequests> https, Path spoolDir, Clock clock) {
        this.dns = dns;
        this.https = https;
        this.disk = new PolicyCache(spoolDir.resolve("mta-sts"));
        this.clock = clock;
    }

    /** The policy of {@code domain}; {@code port} is the policy host's HTTPS port (443 but in tests). */
    public CompletableFuture<Lookup> policy(String domain, int port) {
        String d = domain.toLowerCase(Locale.ROOT);
        Instant now = clock.instant();
        Known k = known.computeIfAbsent(d, x -> new Known(disk.load(x), Instant.EPOCH, Lookup.none()));
        if (now.isBefore(k.txtChecked().plus(TXT_RECHECK))) {
            return CompletableFuture.completedFuture(current(k, now));
        }
        CompletableFuture<Lookup> mine = new CompletableFuture<>();
        CompletableFuture<Lookup> running = inFlight.putIfAbsent(d, mine);
        if (running != null) {
            return running;
        }
        refresh(d, k, port).whenComplete((l, e) -> {
            inFlight.remove(d, mine);
            if (e != null) {
                mine.completeExceptionally(e);
            } else {
                mine.complete(l);
            }
        });
        return mine;
    }

    /** The policy known now without asking anyone (for {@code mta route}): empty when none or expired. */
    public Optional<StsPolicy> cached(String domain) {
        Known k = known.get(domain.toLowerCase(Locale.ROOT));
        Optional<StsPolicy> p = k != null ? k.policy() : disk.load(domain.toLowerCase(Locale.ROOT));
        return p.filter(x -> !x.expired(clock.instant()));
    }

    /** What the last refresh decided, unless its policy has expired since. */
    private static Lookup current(Known k, Instant now) {
        Lookup l = k.last();
        return l.policy().filter(p -> p.expired(now)).isPresent() ? new Lookup(Optional.empty(), l.failure(), l.detail()) : l;
    }

    private CompletableFuture<Lookup> refresh(String domain, Known k, int port) {
        Instant now = clock.instant();
        Optional<StsPolicy> cached = k.policy().filter(p -> !p.expired(now));
        return dns.txt("_mta-sts." + domain).handle((records, e) -> {
            if (e != null) {
                // DNS trouble: a cached policy stays in force (RFC 8461 section 5.1); no TXT, no policy.
                return CompletableFuture.completedFuture(remember(domain, cached, now, cached.map(Lookup::of)
                        .orElse(Lookup.none())));
            }
            Optional<String> id = stsId(records);
            if (id.isEmpty()) {
                // No (usable) record: the cached policy lasts until it expires; it is never removed by a missing record.
                return CompletableFuture.completedFuture(remember(domain, cached, now, cached.map(Lookup::of)
                        .orElse(Lookup.none())));
            }
            if (cached.isPresent() && cached.get().id().equals(id.get())) {
                return CompletableFuture.completedFuture(remember(domain, cached, now, Lookup.of(cached.get())));
            }
            return fetch(domain, id.get(), port).handle((policy, fe) -> {
                if (fe == null) {
                    disk.store(domain, policy);
                    log.info("MTA-STS: policy of {} fetched: mode {}, mx {}, max_age {}", domain, policy.mode().label(),
                            policy.mx(), policy.maxAge().toSeconds());
                    return remember(domain, Optional.of(policy), now, Lookup.of(policy));
                }
                Throwable cause = fe instanceof CompletionException && fe.getCause() != null
                        ? fe.getCause() : fe;
                String type = cause instanceof InvalidPolicy ? "sts-policy-invalid"
                        : HttpsRequests.certificateProblem(cause) ? "sts-webpki-invalid" : "sts-policy-fetch-error";
                String detail = "MTA-STS policy of " + domain + " not fetched (" + type + "): " + describe(cause);
                log.warn("{}{}", detail, cached.isPresent() ? "; the cached policy stays in force" : "");
                Lookup l = new Lookup(cached, Optional.of(type), detail);
                // A failed fetch is tried again at the next recheck, not at every message.
                return remember(domain, cached, now, l);
            });
        }).thenCompose(f -> f);
    }

    private Lookup remember(String domain, Optional<StsPolicy> policy, Instant checked, Lookup lookup) {
        known.put(domain, new Known(policy, checked, lookup));
        return lookup;
    }

    /** The id of the one {@code v=STSv1} record; empty when there is none or more than one (RFC 8461 section 3.1). */
    static Optional<String> stsId(List<String> records) {
        List<String> sts = new ArrayList<>();
        for (String r : records) {
            if (r.strip().startsWith("v=STSv1")) {
                sts.add(r.strip());
            }
        }
        if (sts.size() != 1) {
            return Optional.empty();
        }
        for (String field : sts.get(0).split(";")) {
            String f = field.strip();
            if (f.startsWith("id=")) {
                String id = f.substring(3).strip();
                return id.matches("[A-Za-z0-9]{1,32}") ? Optional.of(id) : Optional.empty();
            }
        }
        return Optional.empty();
    }

    private CompletableFuture<StsPolicy> fetch(String domain, String id, int port) {
        String host = "mta-sts." + domain;
        return dns.address(host).thenCompose(address -> https.get().send(HttpMethod.GET, host, address, port,
                "/.well-known/mta-sts.txt", Map.of(), null, FETCH_TIMEOUT, MAX_POLICY)).thenApply(r -> {
            if (r.status() != 200) {
                throw new CompletionException(new IllegalStateException("HTTP " + r.status()
                        + (r.status() / 100 == 3 ? " (redirects are not followed)" : "")));
            }
            if (!HttpsRequests.mediaType(r.contentType()).equals("text/plain")) {
                throw new CompletionException(new InvalidPolicy("media type '" + r.contentType()
                        + "' is not text/plain"));
            }
            try {
                return StsPolicy.parse(id, new String(r.body(), StandardCharsets.UTF_8), clock.instant());
            } catch (IllegalArgumentException e) {
                throw new CompletionException(new InvalidPolicy(e.getMessage()));
            }
        });
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** A policy that was fetched but is not one. */
    static final class InvalidPolicy extends RuntimeException {
        InvalidPolicy(String message) {
            super(message, null, false, false);
        }
    }
}
