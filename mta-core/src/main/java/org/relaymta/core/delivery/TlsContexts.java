package org.relaymta.core.delivery;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import javax.net.ssl.SSLException;
import org.relaymta.config.TlsLevel;

/**
 * Client TLS contexts per security level: {@code may} and {@code encrypt} encrypt without checking
 * the certificate (as Postfix does); {@code verify} and {@code secure} check the chain against the
 * JDK trust store and the host name. TLS 1.2 is the minimum.
 */
final class TlsContexts {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SslContext unverified;
    private final SslContext verified;

    TlsContexts() {
        try {
            unverified = SslContextBuilder.forClient()
                    .protocols(PROTOCOLS)
                    .trustManager(InsecureTrustManagerFactory.INSTANCE)
                    .endpointIdentificationAlgorithm(null)
                    .build();
            verified = SslContextBuilder.forClient()
                    .protocols(PROTOCOLS)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot initialise TLS: " + e.getMessage(), e);
        }
    }

    SslContext forLevel(TlsLevel level) {
        return level.verifiesCertificate() ? verified : unverified;
    }
}
