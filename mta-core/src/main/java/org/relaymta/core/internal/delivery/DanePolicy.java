package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.tls.ReportPolicy;

/**
 * DANE for SMTP (RFC 7672) as Postfix's {@code dane} and {@code dane-only} levels: only when the MX
 * and the server's address were DNSSEC-validated are the server's TLSA records
 * ({@code _port._tcp.host}) asked for; usable ones make TLS mandatory and the certificate must
 * match them (reference names: the MX host and the next-hop domain). No usable record, an
 * insecure zone, or DNSSEC off: {@code dane} is {@code may}, {@code dane-only} defers. A bogus
 * TLSA answer defers either way: somebody is tampering with the zone.
 */
final class DanePolicy implements TablePolicy.Dane {
    /** The TLSA answer for one name. */
    record Answer(Status status, List<Tlsa> records) {
        enum Status { SECURE, INSECURE, NONE, BOGUS }
    }

    /** TLSA lookups through the validating resolver. */
    interface TlsaLookup {
        CompletableFuture<Answer> tlsa(String name);
    }

    private final TlsaLookup lookup;

    /** {@code lookup}: null when the resolver is not used for DNSSEC ({@code smtp_dns_support_level} not dnssec). */
    DanePolicy(TlsaLookup lookup) {
        this.lookup = lookup;
    }

    @Override
    public CompletableFuture<TlsRequirements> requirements(TlsLevel level, String source, RelayConfig config, NextHop hop,
                                                           Target target) {
        boolean only = level == TlsLevel.DANE_ONLY;
        ReportPolicy tried = new ReportPolicy("tlsa", hop.host(), List.of(), List.of(target.hostName()), Optional.empty());
        if (lookup == null || !config.delivery().tls().dnssec()) {
            return only ? failed("dane-only needs smtp_dns_support_level = dnssec and a validating resolver", "dane-required",
                    tried)
                    : may(source + ", DNSSEC not in use");
        }
        if (!target.dnssec()) {
            return only ? failed("no DNSSEC-validated MX or address for " + target.relay() + " (dane-only)", "dane-required",
                    tried)
                    : may(source + ", " + target.hostName() + " not DNSSEC-validated");
        }
        String name = "_" + target.port() + "._tcp." + target.hostName();
        return lookup.tlsa(name).thenCompose(a -> {
            List<Tlsa> usable = a.records().stream().filter(Tlsa::usable).toList();
            if (a.status() == Answer.Status.BOGUS) {
                return failed("TLSA lookup error for " + name + ": DNSSEC validation failed (bogus)", "dnssec-invalid", tried);
            }
            if (a.status() != Answer.Status.SECURE || usable.isEmpty()) {
                String why = a.status() == Answer.Status.INSECURE ? "TLSA answer not DNSSEC-validated"
                        : a.records().isEmpty() ? "no TLSA records" : "no usable TLSA records";
                return only ? failed(why + " for " + name + " (dane-only)", "dane-required", tried) : may(source + ", " + why);
            }
            ReportPolicy report = new ReportPolicy("tlsa", hop.host(), usable.stream().map(Tlsa::toString).toList(),
                    List.of(target.hostName()), Optional.empty());
            return CompletableFuture.completedFuture(new TlsRequirements(level, PeerCheck.dane(usable,
                    List.of(target.hostName(), hop.host())), true, true, source, List.of(), Optional.empty(),
                    Optional.of(target.hostName()), Optional.of(report), false));
        });
    }

    private static CompletableFuture<TlsRequirements> may(String source) {
        return CompletableFuture.completedFuture(TlsRequirements.of(TlsLevel.MAY, PeerCheck.none(), false, source));
    }

    private static CompletableFuture<TlsRequirements> failed(String why, String resultType, ReportPolicy tried) {
        return CompletableFuture.failedFuture(new TlsPolicyException(resultType, why, tried));
    }
}
