package org.relaymta.core.internal.tlsrpt;

import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.TlsSecurity;
import org.relaymta.core.internal.cluster.RedisLink;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.tls.HttpsRequests;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SMTP TLS reporting (RFC 8460), off the delivery path on its own thread: each session result of a
 * domain that publishes {@code _smtp._tls} ({@code v=TLSRPTv1; rua=...}) is counted in the store for
 * the current period ({@code tlsrpt_interval}, aligned to the epoch, so a day is a UTC day); once a
 * period is over, each domain gets one report at each of its {@code rua} addresses: {@code mailto:}
 * through the relay's own queue, {@code https:} as a POST of the gzipped JSON. A report that cannot
 * be sent is tried again at the next check for a day, then dropped with a log line.
 */
public final class TlsReports implements Consumer<TlsSessionResult>, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsReports.class);
    private static final Duration RUA_CACHE = Duration.ofHours(1);
    private static final Duration FLUSH = Duration.ofSeconds(5);
    private static final Duration GIVE_UP = Duration.ofDays(1);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC);

    /** Submits a report mail to the relay's own queue; completes with the queue id. */
    public interface Mailer {
        CompletableFuture<String> submit(String sender, List<String> recipients, byte[] message);
    }

    private record Rua(List<String> uris, Instant checked) {
    }

    private final Supplier<RelayConfig> config;
    private final MtaSts.PolicyDns dns;
    private final Supplier<HttpsRequests> https;
    private final ReportStore store;
    private final Mailer mailer;
    private final Clock clock;
    private final ScheduledExecutorService thread;
    private final Map<String, Rua> rua = new ConcurrentHashMap<>();
    /** Reports this node has claimed but not yet sent (tried again without claiming twice). */
    private final Set<String> claimed = new HashSet<>();

    TlsReports(Supplier<RelayConfig> config, MtaSts.PolicyDns dns, Supplier<HttpsRequests> https, ReportStore store,
               Mailer mailer, Clock clock) {
        this.config = config;
        this.dns = dns;
        this.https = https;
        this.store = store;
        this.mailer = mailer;
        this.clock = clock;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mta-tlsrpt");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts counting and sending: counts in {@code SPOOL/tlsrpt/}, or in Redis when {@code redis} is
     * given (the nodes then send one report per domain between them).
     */
    public static TlsReports start(Supplier<RelayConfig> config, MtaSts.PolicyDns dns, Supplier<HttpsRequests> https,
                                   Path spoolDir, Optional<RedisLink> redis, Mailer mailer, Clock clock) {
        LocalReportStore local = new LocalReportStore(spoolDir.resolve("tlsrpt"));
        ReportStore store = redis.<ReportStore>map(r -> new SharedReportStore(r, local)).orElse(local);
        TlsReports reports = new TlsReports(config, dns, https, store, mailer, clock);
        long check = Math.max(1, Math.min(60, config.get().delivery().tls().reports().interval().toSeconds() / 4));
        reports.thread.scheduleWithFixedDelay(reports::checkSafely, check, check, TimeUnit.SECONDS);
        reports.thread.scheduleWithFixedDelay(store::flush, FLUSH.toSeconds(), FLUSH.toSeconds(), TimeUnit.SECONDS);
        return reports;
    }

    @Override
    public void accept(TlsSessionResult r) {
        if (!config.get().delivery().tls().reports().enabled() || thread.isShutdown()) {
            return;
        }
        try {
            thread.execute(() -> count(r));
        } catch (RuntimeException stopped) {
            // stopping: the session is not counted
        }
    }

    private void count(TlsSessionResult r) {
        try {
            if (ruas(r.policy().domain(), false).isEmpty()) {
                return;   // the domain asks for no reports
            }
            store.add(period(clock.instant()), r);
        } catch (RuntimeException e) {
            log.warn("TLS reports: cannot count a session to {}: {}", r.policy().domain(), e.toString());
        }
    }

    /** Sends the reports of every finished period now (tests; the timer does it every minute). */
    public void checkNow() throws Exception {
        thread.submit(() -> {
            check();
            return null;
        }).get(60, TimeUnit.SECONDS);
    }

    private void checkSafely() {
        try {
            check();
        } catch (RuntimeException e) {
            log.warn("TLS reports: check failed: {}", e.toString());
        }
    }

    private void check() {
        store.flush();
        Instant now = clock.instant();
        long current = period(now);
        for (long p : store.periodsBefore(current)) {
            for (String domain : store.domains(p)) {
                send(p, domain, now);
            }
        }
    }

    private void send(long period, String domain, Instant now) {
        TlsSecurity.Reporting settings = config.get().delivery().tls().reports();
        long seconds = interval();
        Instant start = Instant.ofEpochSecond(period);
        Instant end = start.plusSeconds(seconds);
        String key = period + " " + domain;
        List<String> uris = ruas(domain, true);
        if (uris.isEmpty()) {
            log.info("TLS reports: {} no longer asks for reports; its counts for {} are dropped", domain, start);
            store.done(period, domain);
            return;
        }
        if (!claimed.contains(key)) {
            if (!store.claim(period, domain)) {
                return;
            }
            claimed.add(key);
        }
        ReportCounts counts = store.counts(period, domain);
        if (counts.isEmpty()) {
            store.done(period, domain);
            claimed.remove(key);
            return;
        }
        String id = ID_TIME.format(start) + "." + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + "@"
                + config.get().myhostname();
        TlsReport report = new TlsReport(settings.organization(), settings.contact(), domain, start, end, id, counts);
        int sent = 0;
        for (String uri : uris) {
            try {
                deliver(report, uri, settings, now);
                sent++;
            } catch (Exception e) {
                log.warn("TLS reports: report {} for {} to {} failed: {}", id, domain, uri, e.getMessage());
            }
        }
        if (sent > 0 || now.isAfter(end.plus(GIVE_UP))) {
            if (sent == 0) {
                log.warn("TLS reports: giving up the report of {} for {}", domain, start);
            }
            store.done(period, domain);
            claimed.remove(key);
        }
    }

    private void deliver(TlsReport report, String uri, TlsSecurity.Reporting settings, Instant now) throws Exception {
        if (uri.regionMatches(true, 0, "mailto:", 0, 7)) {
            String address = URLDecoder.decode(uri.substring(7).split("\\?", 2)[0], StandardCharsets.UTF_8).strip();
            String queueId = mailer.submit(settings.sender(), List.of(address), report.mail(settings.sender(), address, now))
                    .get(60, TimeUnit.SECONDS);
            log.info("TLS reports: report {} for {} queued as {} to <{}>", report.reportId(), domainOf(report), queueId, address);
            return;
        }
        URI u = URI.create(uri);
        if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("only mailto: and https: report URIs are supported");
        }
        int port = u.getPort() < 0 ? 443 : u.getPort();
        String path = (u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
        HttpsRequests.Response r = dns.address(u.getHost()).thenCompose(a -> https.get().send(HttpMethod.POST, u.getHost(), a,
                port, path, Map.of("Content-Type", "application/tlsrpt+gzip"), report.gzip(), Duration.ofSeconds(30), 64 * 1024))
                .get(60, TimeUnit.SECONDS);
        if (r.status() / 100 != 2) {
            throw new IllegalStateException("HTTP " + r.status());
        }
        log.info("TLS reports: report {} for {} posted to {}", report.reportId(), domainOf(report), uri);
    }

    private static String domainOf(TlsReport r) {
        return r.json().get("policies").getAsJsonArray().get(0).getAsJsonObject().getAsJsonObject("policy")
                .get("policy-domain").getAsString();
    }

    /** The rua URIs of {@code domain}'s {@code _smtp._tls} record, cached for an hour unless {@code fresh}. */
    private List<String> ruas(String domain, boolean fresh) {
        Instant now = clock.instant();
        Rua known = rua.get(domain);
        if (known != null && !fresh && now.isBefore(known.checked().plus(RUA_CACHE))) {
            return known.uris();
        }
        List<String> uris;
        try {
            uris = parseRua(dns.txt("_smtp._tls." + domain).get(10, TimeUnit.SECONDS));
        } catch (Exception e) {
            // DNS trouble: what was known stays, else no reports for now
            return known != null ? known.uris() : List.of();
        }
        rua.put(domain, new Rua(uris, now));
        return uris;
    }

    /** The rua URIs of the one {@code v=TLSRPTv1} record; none when there is none or more than one. */
    static List<String> parseRua(List<String> records) {
        List<String> tlsrpt = new ArrayList<>();
        for (String r : records) {
            if (r.strip().startsWith("v=TLSRPTv1")) {
                tlsrpt.add(r.strip());
            }
        }
        if (tlsrpt.size() != 1) {
            return List.of();
        }
        for (String field : tlsrpt.get(0).split(";")) {
            String f = field.strip();
            if (f.toLowerCase(Locale.ROOT).startsWith("rua=")) {
                List<String> out = new ArrayList<>();
                for (String u : f.substring(4).split(",")) {
                    String uri = u.strip();
                    if (uri.regionMatches(true, 0, "mailto:", 0, 7) || uri.regionMatches(true, 0, "https:", 0, 6)) {
                        out.add(uri);
                    }
                }
                return out;
            }
        }
        return List.of();
    }

    private long interval() {
        return Math.max(1, config.get().delivery().tls().reports().interval().toSeconds());
    }

    long period(Instant t) {
        long s = interval();
        return Math.floorDiv(t.getEpochSecond(), s) * s;
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
