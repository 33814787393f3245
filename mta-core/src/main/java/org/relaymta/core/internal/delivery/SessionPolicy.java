package org.relaymta.core.internal.delivery;

import java.util.Optional;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Route;

/**
 * How a session to a target is set up: its TLS requirements (from the destination policy step),
 * wrapper mode (port 465), credentials. Sessions with equal policies to the same target share the
 * connection cache.
 */
record SessionPolicy(TlsRequirements tls, boolean wrapper, Optional<Credentials> credentials) {
    static SessionPolicy of(Route route, NextHop hop, Target target, TlsRequirements tls) {
        return new SessionPolicy(tls, LevelPolicy.wrapper(route, target), route.credentialsFor(target.hostName(), hop));
    }

    String cacheKey(Target target) {
        return target.relay() + "|" + tls.key() + "|" + wrapper + "|"
                + credentials.map(Credentials::key).orElse("-") + "|" + credentials.map(Credentials::username).orElse("-");
    }
}
