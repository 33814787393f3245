package org.relaymta.core.internal.delivery;

import java.util.List;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Route;

/**
 * The destination policy of Postfix's {@code smtp_tls_security_level} alone: the route's level;
 * wrapper mode (or port 465) raises an opportunistic level to {@code encrypt}; {@code verify}
 * matches the server's host name (the MX name), {@code secure} the next-hop name and names below
 * it (Postfix's {@code nexthop, dot-nexthop}); the mandatory levels defer on a TLS failure,
 * {@code may} falls back to plain text.
 */
final class LevelPolicy {
    private LevelPolicy() {
    }

    static TlsRequirements requirements(Route route, NextHop hop, Target target) {
        return requirements(route.tlsLevel(), "smtp_tls_security_level", route, hop, target);
    }

    /** {@code level} as set by {@code source}, with wrapper mode's rule and the default reference names. */
    static TlsRequirements requirements(TlsLevel level, String source, Route route, NextHop hop, Target target) {
        if (wrapper(route, target) && !level.mandatory() && level != TlsLevel.DANE) {
            level = TlsLevel.ENCRYPT;
            source = "wrapper mode";
        }
        PeerCheck check = switch (level) {
            case SECURE -> PeerCheck.pkix(List.of(hop.host(), "." + hop.host()));
            case VERIFY -> PeerCheck.pkix(List.of(target.hostName()));
            default -> PeerCheck.none();
        };
        return TlsRequirements.of(level, check, level.mandatory(), source);
    }

    /** TLS from the first byte (SMTPS): {@code smtp_tls_wrappermode}, or port 465. */
    static boolean wrapper(Route route, Target target) {
        return route.wrapperMode() || target.port() == 465;
    }
}
