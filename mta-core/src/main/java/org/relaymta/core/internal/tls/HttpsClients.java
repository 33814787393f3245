package org.relaymta.core.internal.tls;

import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.config.internal.RelayConfig;

/**
 * The HTTPS client for the trust in force: one per distinct {@code smtp_tls_CAfile} and
 * {@code smtp_tls_CApath}, so a reload that changes them applies to the next request.
 */
public final class HttpsClients {
    private record Trust(Optional<Path> caFile, Optional<Path> caPath) {
    }

    private final EventLoopGroup group;
    private final Map<Trust, HttpsRequests> clients = new ConcurrentHashMap<>();

    public HttpsClients(EventLoopGroup group) {
        this.group = group;
    }

    /** Fails with IllegalStateException when the trust store cannot be read. */
    public HttpsRequests forConfig(RelayConfig config) {
        Trust t = new Trust(config.delivery().smtp().tlsCaFile(), config.delivery().tls().caPath());
        return clients.computeIfAbsent(t, k -> new HttpsRequests(group, TrustStores.load(k.caFile(), k.caPath())));
    }
}
