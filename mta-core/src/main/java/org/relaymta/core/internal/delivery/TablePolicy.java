package org.relaymta.core.internal.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Route;
import org.relaymta.config.internal.TlsPolicies;

/**
 * Postfix's {@code smtp_tls_policy_maps} over the global level: the entry for the next hop (the
 * recipient's domain for MX delivery, {@code [host]:port} for a relay host) sets the level, the
 * reference names or digests, protocols and ciphers; without one, {@link LevelPolicy} decides. A
 * relay host with credentials keeps its mandatory level: a table entry never lowers it. The DANE levels are handed to {@code dane} once the level is known.
 */
final class TablePolicy implements DestinationPolicy {
    /** What the DANE levels become for one server (TLSA lookups); see {@link DanePolicy}. */
    interface Dane {
        CompletableFuture<TlsRequirements> requirements(TlsLevel level, String source, RelayConfig config, NextHop hop,
                                                        Target target);
    }

    private final Dane dane;

    TablePolicy(Dane dane) {
        this.dane = dane;
    }

    @Override
    public CompletableFuture<TlsRequirements> tls(RelayConfig config, Route route, NextHop hop, Target target) {
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
        if (level == TlsLevel.DANE || level == TlsLevel.DANE_ONLY) {
            if (LevelPolicy.wrapper(route, target)) {
                // DANE is STARTTLS to port 25 (RFC 7672); a wrapper-mode hop keeps encrypt.
                return CompletableFuture.completedFuture(LevelPolicy.requirements(TlsLevel.ENCRYPT, "wrapper mode", route, hop,
                        target));
            }
            return dane.requirements(level, source, config, hop, target)
                    .thenApply(r -> entry.map(e -> r.withProtocols(e.protocols(), e.ciphers())).orElse(r));
        }
        TlsRequirements base = LevelPolicy.requirements(level, source, route, hop, target);
        if (entry.isEmpty()) {
            return CompletableFuture.completedFuture(base);
        }
        TlsPolicies.Policy e = entry.get();
        TlsRequirements r = base;
        if (level == TlsLevel.FINGERPRINT) {
            r = TlsRequirements.of(level, PeerCheck.fingerprint(e.match()), true, source);
        } else if (!e.match().isEmpty() && base.check().kind() == PeerCheck.Kind.PKIX) {
            r = TlsRequirements.of(level, PeerCheck.pkix(names(e.match(), hop, target)), true, source);
        }
        return CompletableFuture.completedFuture(r.withProtocols(e.protocols(), e.ciphers()));
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
