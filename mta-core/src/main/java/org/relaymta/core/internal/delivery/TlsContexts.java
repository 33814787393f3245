package org.relaymta.core.internal.delivery;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;

/**
 * Client TLS contexts per security level: {@code may} and {@code encrypt} encrypt without checking
 * the certificate (as Postfix does); {@code verify} and {@code secure} check the chain against the
 * JDK trust store or {@code smtp_tls_CAfile}, and the host name. TLS 1.2 is the minimum. Contexts
 * are built once per distinct setting and reused.
 */
final class TlsContexts {
    private record Key(boolean verify, Optional<Path> caFile, List<String> protocols) {
    }

    private final Map<Key, SslContext> contexts = new ConcurrentHashMap<>();

    SslContext forLevel(TlsLevel level, SmtpClientSettings settings) {
        Key key = new Key(level.verifiesCertificate(), level.verifiesCertificate() ? settings.tlsCaFile() : Optional.empty(),
                settings.tlsProtocols());
        return contexts.computeIfAbsent(key, TlsContexts::build);
    }

    private static SslContext build(Key key) {
        try {
            SslContextBuilder b = SslContextBuilder.forClient().protocols(key.protocols());
            if (!key.verify()) {
                b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
            } else {
                b.endpointIdentificationAlgorithm("HTTPS");
                if (key.caFile().isPresent()) {
                    b.trustManager(key.caFile().get().toFile());
                }
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot initialise TLS: " + e.getMessage(), e);
        }
    }
}
