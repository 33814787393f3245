package org.relaymta.core.internal.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Route;
import org.relaymta.config.internal.TlsPolicies;
import org.relaymta.core.internal.sts.MtaSts;
import org.relaymta.core.internal.sts.StsPolicy;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * The destination policy step, in Postfix's order of precedence: an {@code smtp_tls_policy_maps}
 * entry for the next hop (the recipient's domain for MX delivery, {@code [host]:port} for a relay
 * host) decides first; else the global level, where {@code dane} asks {@link DanePolicy} for TLSA
 * records and, for mail to a recipient domain's MX, the domain's MTA-STS policy applies where DANE
 * found nothing (RFC 8461 section 2: DANE wins). A relay host with credentials keeps its mandatory
 * level: a table entry never lowers it. For MX delivery the requirements say which policy the
 * session counts under in the TLS reports; a policy that defers the mail is reported here.
 */
final class TablePolicy implements DestinationPolicy {
    /** What the DANE levels become for one server (TLSA lookups); see {@link DanePolicy}. */
    interface Dane {
        CompletableFuture<TlsRequirements> requirements(TlsLevel level, String source, RelayConfig config, NextHop hop,
                                                        Target target);
    }

    /** A domain's MTA-STS policy ({@link MtaSts}); null where MTA-STS is not available. */
    interface Sts {
        CompletableFuture<MtaSts.Lookup> policy(String domain, int port);
    }

    private final Dane dane;
    private final Sts sts;
    private volatile Consumer<TlsSessionResult> reports = r -> { };

    TablePolicy(Dane dane, Sts sts) {
        this.dane = dane;
        this.sts = sts;
    }

    /** Where the failures decided here (no session was tried) are reported, as the sessions' are. */
    void onResult(Consumer<TlsSessionResult> sink) {
        this.reports = sink;
    }

    @Override
    public CompletableFuture<TlsRequirements> tls(DeliveryRequest request, NextHop hop, Target target) {
        CompletableFuture<TlsRequirements> r = requirements(request, hop, target);
        if (!request.route().direct() || !hop.mxLookup()) {
            return r;
        }
        return r.whenComplete((ok, e) -> {
            Throwable cause = e == null ? null : SmtpConnection.unwrap(e);
            if (cause instanceof TlsPolicyException p) {
                reports.accept(new TlsSessionResult(p.report().orElse(ReportPolicy.noPolicy(hop.host())), target.hostName(),
                        "", target.address().getHostAddress(), p.resultType(), p.getMessage()));
            }
        });
    }

    /** The requirements alone, nothing reported: {@link #tls} for delivery, and {@code mta route}'s explanation. */
    CompletableFuture<TlsRequirements> requirements(DeliveryRequest request, NextHop hop, Target target) {
        RelayConfig config = request.config();
        Route route = request.route();
        boolean toMx = route.direct() && hop.mxLookup();
        CompletableFuture<TlsRequirements> r = decide(config, route, hop, target, toMx);
        if (request.requireTls()) {
            r = requireTls(r, config, route, hop, target, toMx);
        } else if (toMx) {
            r = tlsRequiredNo(r, request, hop, target);
        }
        return r;
    }

    private CompletableFuture<TlsRequirements> decide(RelayConfig config, Route route, NextHop hop, Target target, boolean toMx) {
        TlsPolicies table = config.delivery().tls().policies();
        Optional<TlsPolicies.Policy> entry = table.isEmpty() ? Optional.empty()
                : table.lookup(hop.host(), hop.port(), hop.mxLookup());
        TlsLevel level = entry.map(TlsPolicies.Policy::level).orElse(route.tlsLevel());
        String source = entry.map(e -> "smtp_tls_policy_maps " + e.location()).orElse("smtp_tls_security_level");
        if (entry.isPresent() && !route.direct() && route.tlsLevel().mandatory() && !level.mandatory()
                && route.credentialsFor(target.hostName(), hop).isPresent()) {
            // A table entry never lowers a relay host that has credentials below its own mandatory level.
            level = route.tlsLevel();
            source = "smtp_tls_security_level (credentials for " + hop.asWritten() + ")";
        }
        ReportPolicy noPolicy = ReportPolicy.noPolicy(hop.host());
        if (level == TlsLevel.DANE || level == TlsLevel.DANE_ONLY) {
            if (LevelPolicy.wrapper(route, target)) {
                // DANE is STARTTLS to port 25 (RFC 7672); a wrapper-mode hop keeps encrypt.
                return CompletableFuture.completedFuture(LevelPolicy.requirements(TlsLevel.ENCRYPT, "wrapper mode", route, hop,
                        target));
            }
            boolean stsMayFollow = toMx && entry.isEmpty() && level == TlsLevel.DANE;
            return dane.requirements(level, source, config, hop, target).thenCompose(r -> {
                TlsRequirements withTable = entry.map(e -> r.withProtocols(e.protocols(), e.ciphers())).orElse(r);
                if (r.check().kind() == PeerCheck.Kind.DANE || !stsMayFollow) {
                    return CompletableFuture.completedFuture(toMx && withTable.report().isEmpty()
                            ? withTable.reportedAs(noPolicy) : withTable);
                }
                return mtaSts(config, hop, target, withTable);
            });
        }
        TlsRequirements base = LevelPolicy.requirements(level, source, route, hop, target);
        if (entry.isEmpty()) {
            if (toMx && config.delivery().tls().mtaSts() && sts != null
                    && (level == TlsLevel.MAY || level == TlsLevel.ENCRYPT) && !LevelPolicy.wrapper(route, target)) {
                return mtaSts(config, hop, target, base);
            }
            return CompletableFuture.completedFuture(toMx ? base.reportedAs(noPolicy) : base);
        }
        TlsPolicies.Policy e = entry.get();
        TlsRequirements r = base;
        if (level == TlsLevel.FINGERPRINT) {
            r = TlsRequirements.of(level, PeerCheck.fingerprint(e.match()), true, source);
        } else if (!e.match().isEmpty() && base.check().kind() == PeerCheck.Kind.PKIX) {
            r = TlsRequirements.of(level, PeerCheck.pkix(names(e.match(), hop, target)), true, source);
        }
        r = r.withProtocols(e.protocols(), e.ciphers());
        return CompletableFuture.completedFuture(toMx ? r.reportedAs(noPolicy) : r);
    }

    /**
     * The recipient domain's MTA-STS policy over {@code base} (may or encrypt): {@code enforce} makes
     * TLS mandatory with a PKIX-valid certificate for the MX name, and an MX outside the policy's
     * patterns is not used; {@code testing} checks the same, reports what fails, and delivers as
     * {@code base} would.
     */
    private CompletableFuture<TlsRequirements> mtaSts(RelayConfig config, NextHop hop, Target target, TlsRequirements base) {
        if (sts == null || !config.delivery().tls().mtaSts()) {
            return CompletableFuture.completedFuture(base.reportedAs(ReportPolicy.noPolicy(hop.host())));
        }
        String domain = hop.host();
        return sts.policy(domain, config.delivery().tls().stsPort()).thenApply(lookup -> {
            Optional<StsPolicy> found = lookup.policy().filter(p -> p.mode() != StsPolicy.Mode.NONE);
            if (found.isEmpty()) {
                ReportPolicy report = lookup.failure().isPresent()
                        ? new ReportPolicy("sts", domain, List.of(), List.of(), lookup.failure())
                        : ReportPolicy.noPolicy(domain);
                return base.reportedAs(report);
            }
            StsPolicy p = found.get();
            boolean enforce = p.mode() == StsPolicy.Mode.ENFORCE;
            String source = "MTA-STS policy of " + domain + " (" + p.mode().label() + ")";
            ReportPolicy report = new ReportPolicy("sts", domain, p.lines(), p.mx(), Optional.empty());
            if (!p.matches(target.hostName())) {
                String why = "MX host " + target.hostName() + " is not among the mx of the " + source + ": " + p.mx();
                if (enforce) {
                    throw new CompletionException(new TlsPolicyException("validation-failure", why, report));
                }
                // testing: delivered as before, the session counted as this failure
                return base.reportedAs(new ReportPolicy("sts", domain, p.lines(), p.mx(), Optional.of("validation-failure")));
            }
            if (enforce) {
                return new TlsRequirements(TlsLevel.VERIFY, PeerCheck.sts(List.of(target.hostName())), true, true, source,
                        base.protocols(), base.ciphers(), Optional.of(target.hostName()), Optional.of(report), false);
            }
            return new TlsRequirements(base.level(), PeerCheck.sts(List.of(target.hostName())), base.failureDefers(), false,
                    source, base.protocols(), base.ciphers(), Optional.of(target.hostName()), Optional.of(report), false);
        });
    }

    /**
     * REQUIRETLS (RFC 8689 section 4.2.1): to an MX, only one from a DNSSEC-validated lookup (checked
     * by DANE, or PKIX for the MX name) or listed by the domain's MTA-STS policy (PKIX, even in testing
     * mode); to a relay host, PKIX for its name; always mandatory, and the server must offer
     * REQUIRETLS. No way to meet it: 5.7.30, and the mail bounces once no next hop is left.
     */
    private CompletableFuture<TlsRequirements> requireTls(CompletableFuture<TlsRequirements> decided, RelayConfig config,
                                                          Route route, NextHop hop, Target target, boolean toMx) {
        return decided.thenCompose(r -> {
            PeerCheck.Kind kind = r.check().kind();
            if (kind == PeerCheck.Kind.DANE || kind == PeerCheck.Kind.STS || kind == PeerCheck.Kind.FINGERPRINT) {
                return CompletableFuture.completedFuture(r.requiringTls("REQUIRETLS"));
            }
            if (!toMx) {
                TlsRequirements pkix = kind == PeerCheck.Kind.PKIX ? r : TlsRequirements.of(TlsLevel.VERIFY,
                        PeerCheck.pkix(List.of(hop.host())), true, r.source()).withProtocols(r.protocols(), r.ciphers());
                return CompletableFuture.completedFuture(pkix.requiringTls("REQUIRETLS (relay host name verified)"));
            }
            if (!target.dnssec()) {
                return CompletableFuture.failedFuture(new TlsPolicyException("validation-failure", "REQUIRETLS: the MX host "
                        + target.hostName() + " of " + hop.host() + " comes from no DNSSEC-validated lookup and no MTA-STS "
                        + "policy", r.report().orElse(null), "5.7.30"));
            }
            // A validated MX without usable TLSA records: the certificate must be valid for the MX name.
            return dane.requirements(TlsLevel.DANE, "REQUIRETLS", config, hop, target).thenApply(d -> {
                TlsRequirements checked = d.check().kind() == PeerCheck.Kind.DANE ? d
                        : TlsRequirements.of(TlsLevel.VERIFY, PeerCheck.pkix(List.of(target.hostName())), true, r.source());
                return checked.reportedAs(r.report().orElse(ReportPolicy.noPolicy(hop.host())))
                        .requiringTls("REQUIRETLS (DNSSEC-validated MX)");
            });
        });
    }

    /**
     * {@code TLS-Required: No} in the message (RFC 8689 section 5): DANE and MTA-STS neither defer nor
     * stop it; what fails is still reported. The header is read only when such a policy applies.
     */
    private static CompletableFuture<TlsRequirements> tlsRequiredNo(CompletableFuture<TlsRequirements> decided,
                                                                    DeliveryRequest request, NextHop hop, Target target) {
        return decided.handle((r, e) -> {
            if (e == null) {
                PeerCheck.Kind kind = r.check().kind();
                boolean recipientPolicy = (kind == PeerCheck.Kind.DANE || kind == PeerCheck.Kind.STS) && r.failureDefers();
                return recipientPolicy && request.tlsRequiredNo() ? r.relaxed() : r;
            }
            Throwable cause = SmtpConnection.unwrap(e);
            if (cause instanceof TlsPolicyException p && request.tlsRequiredNo()) {
                // The policy would have stopped it: reported, then sent as opportunistic TLS would.
                ReportPolicy report = p.report().orElse(ReportPolicy.noPolicy(hop.host()));
                return TlsRequirements.of(TlsLevel.MAY, PeerCheck.none(), false, "smtp_tls_security_level, "
                        + p.getMessage() + ", ignored for TLS-Required: No").reportedAs(new ReportPolicy(report.type(),
                        report.domain(), report.strings(), report.mxHosts(), Optional.of(p.resultType())));
            }
            throw new CompletionException(cause);
        });
    }

    /** Postfix's match= words: hostname (the server's), nexthop, dot-nexthop, or names as written. */
    static List<String> names(List<String> match, NextHop hop, Target target) {
        List<String> out = new ArrayList<>();
        for (String m : match) {
            switch (m) {
                case "hostname" -> out.add(target.hostName());
                case "nexthop" -> out.add(hop.host());
                case "dot-nexthop" -> out.add("." + hop.host());
                default -> out.add(m);
            }
        }
        return out;
    }
}
