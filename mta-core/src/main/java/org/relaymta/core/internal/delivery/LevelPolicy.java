package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Route;

/**
 * The destination policy of Postfix's {@code smtp_tls_security_level} alone: the route's level;
 * wrapper mode (or port 465) raises an opportunistic level to {@code encrypt}; {@code verify}
 * matches the server's host name (the MX name), {@code secure} the next-hop name; the mandatory
 * levels defer on a TLS failure, {@code may} falls back to plain text.
 */
final class LevelPolicy implements DestinationPolicy {
    @Override
    public CompletableFuture<TlsRequirements> tls(Route route, NextHop hop, Target target) {
        return CompletableFuture.completedFuture(requirements(route, hop, target));
    }

    static TlsRequirements requirements(Route route, NextHop hop, Target target) {
        TlsLevel level = route.tlsLevel();
        String source = "smtp_tls_security_level";
        if (wrapper(route, target) && !level.mandatory()) {
            level = TlsLevel.ENCRYPT;
            source = "wrapper mode";
        }
        List<String> names = switch (level) {
            case SECURE -> List.of(hop.host());
            case VERIFY -> List.of(target.hostName());
            default -> List.of();
        };
        return new TlsRequirements(level, names, level.mandatory(), source);
    }

    /** TLS from the first byte (SMTPS): {@code smtp_tls_wrappermode}, or port 465. */
    static boolean wrapper(Route route, Target target) {
        return route.wrapperMode() || target.port() == 465;
    }
}
