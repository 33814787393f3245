package org.relaymta.core.internal.delivery;

import java.util.Optional;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Route;

/**
 * How a session to a target is set up: TLS level, wrapper mode (port 465), credentials. Sessions
 * with equal policies to the same target share the connection cache.
 */
record SessionPolicy(TlsLevel level, boolean wrapper, Optional<Credentials> credentials) {
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
