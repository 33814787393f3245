package org.relaymta.core.internal.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * PKIX trust for SMTP peers and MTA-STS policy hosts alike: the certificates of
 * {@code smtp_tls_CAfile} and of the PEM files in {@code smtp_tls_CApath}; the JDK's trust store
 * when neither is set (as Postfix without {@code tls_append_default_CA}, a configured CA replaces
 * the system's).
 */
public final class TrustStores {
    private TrustStores() {
    }

    public static X509TrustManager load(Optional<Path> caFile, Optional<Path> caPath) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (caFile.isEmpty() && caPath.isEmpty()) {
                tmf.init((KeyStore) null);
            } else {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                List<Path> files = new ArrayList<>();
                caFile.ifPresent(files::add);
                if (caPath.isPresent()) {
                    try (DirectoryStream<Path> dir = Files.newDirectoryStream(caPath.get())) {
                        for (Path f : dir) {
                            if (Files.isRegularFile(f)) {
                                files.add(f);
                            }
                        }
                    }
                }
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                int n = 0;
                for (Path f : files) {
                    try (InputStream in = Files.newInputStream(f)) {
                        for (Certificate c : cf.generateCertificates(in)) {
                            ks.setCertificateEntry("ca-" + n++, c);
                        }
                    } catch (GeneralSecurityException e) {
                        if (caFile.isPresent() && f.equals(caFile.get())) {
                            throw new IllegalStateException("cannot read smtp_tls_CAfile " + f + ": " + e.getMessage(), e);
                        }
                        // a file of CApath that holds no certificate (a README, a CRL): skipped, as OpenSSL does
                    }
                }
                tmf.init(ks);
            }
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X.509 trust manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot initialise TLS trust: " + e.getMessage(), e);
        }
    }
}
