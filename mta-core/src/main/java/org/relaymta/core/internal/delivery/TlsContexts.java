package org.relaymta.core.internal.delivery;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.internal.TlsSecurity;
import org.relaymta.core.internal.tls.TrustStores;

/**
 * Client TLS contexts per protocol set and cipher grade, and the certificate checks per trust
 * setting. The handshake accepts any certificate; {@link PeerVerifier} then checks it as the
 * session's {@link PeerCheck} says (PKIX, digests, TLSA), before anything more is sent. TLS 1.2 is
 * the minimum. Both are built once per distinct setting and reused.
 */
final class TlsContexts {
    /** Postfix's {@code ciphers=high}: AEAD suites with forward secrecy only. */
    private static final List<String> HIGH = List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private record Key(List<String> protocols, Optional<String> ciphers) {
    }

    private record Trust(Optional<Path> caFile, Optional<Path> caPath) {
    }

    private final Map<Key, SslContext> contexts = new ConcurrentHashMap<>();
    private final Map<Trust, PeerVerifier> verifiers = new ConcurrentHashMap<>();
    private final Clock clock;

    TlsContexts(Clock clock) {
        this.clock = clock;
    }

    /** The context for a session under {@code tls}; fails with IllegalStateException when it cannot be built. */
    SslContext forSession(TlsRequirements tls, SmtpClientSettings settings) {
        List<String> protocols = tls.protocols().isEmpty() ? settings.tlsProtocols() : tls.protocols();
        return contexts.computeIfAbsent(new Key(protocols, tls.ciphers()), TlsContexts::build);
    }

    /** The certificate checks under the trust in force ({@code smtp_tls_CAfile}, {@code smtp_tls_CApath}). */
    PeerVerifier verifier(SmtpClientSettings settings, TlsSecurity security) {
        return verifiers.computeIfAbsent(new Trust(settings.tlsCaFile(), security.caPath()),
                t -> new PeerVerifier(TrustStores.load(t.caFile(), t.caPath()), clock));
    }

    private static SslContext build(Key key) {
        try {
            SslContextBuilder b = SslContextBuilder.forClient().protocols(key.protocols())
                    .trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
            if (key.ciphers().filter("high"::equals).isPresent()) {
                b.ciphers(HIGH, SupportedCipherSuiteFilter.INSTANCE);
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot initialise TLS: " + e.getMessage(), e);
        }
    }
}
