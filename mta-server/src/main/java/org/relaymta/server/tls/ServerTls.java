package org.relaymta.server.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.relaymta.config.ConfigException;
import org.relaymta.core.internal.spool.SpoolFiles;

/**
 * The listener's TLS: a PEM key and certificate chain (Postfix {@code smtpd_tls_*} files), or a
 * self-signed certificate for {@code myhostname} made with BouncyCastle at first start and kept in
 * the data directory. TLS 1.2 and 1.3 only; the JDK's default suites (no anonymous or export ones).
 */
public final class ServerTls {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private ServerTls() {
    }

    /** From PEM files; the key file may also hold the certificates. */
    public static SSLContext fromPem(Path certFile, Path keyFile) {
        try {
            PrivateKey key = null;
            List<X509Certificate> chain = new ArrayList<>();
            JcaX509CertificateConverter certs = new JcaX509CertificateConverter();
            // BouncyCastle's PEM parser turns every key form (SEC1 "EC PRIVATE KEY", PKCS#1, PKCS#8) into
            // PKCS#8, which the JDK's key factories read: registering BouncyCastle's provider would cost
            // a third of a second at every start.
            JcaPEMKeyConverter keys = new JcaPEMKeyConverter();
            for (Path file : certFile.equals(keyFile) ? List.of(certFile) : List.of(keyFile, certFile)) {
                try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(r)) {
                    Object o;
                    while ((o = pem.readObject()) != null) {
                        if (o instanceof PEMKeyPair kp && key == null) {
                            key = keys.getPrivateKey(kp.getPrivateKeyInfo());
                        } else if (o instanceof PrivateKeyInfo pki && key == null) {
                            key = keys.getPrivateKey(pki);
                        } else if (o instanceof X509CertificateHolder holder) {
                            chain.add(certs.getCertificate(holder));
                        }
                    }
                }
            }
            if (key == null) {
                throw new ConfigException(keyFile.toString(), "no private key found (PEM, unencrypted)");
            }
            if (chain.isEmpty()) {
                throw new ConfigException(certFile.toString(), "no certificate found (PEM)");
            }
            return context(key, chain.toArray(new X509Certificate[0]));
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigException(certFile.toString(), "cannot load the TLS key and certificate: " + e.getMessage(), e);
        }
    }

    /** The self-signed certificate in {@code dir/selfsigned.pem}, made on first use (owner-only file). */
    public static SSLContext selfSigned(Path dir, String hostName) throws IOException {
        Path pem = dir.resolve("selfsigned-" + hostName.replaceAll("[^A-Za-z0-9.-]", "_") + ".pem");
        if (!Files.exists(pem)) {
            SpoolFiles.directory(dir);
            try {
                KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
                gen.initialize(new ECGenParameterSpec("secp256r1"));
                KeyPair keys = gen.generateKeyPair();
                Instant now = Instant.now();
                X500Name name = new X500Name("CN=" + hostName);
                JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                        Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))), name,
                        keys.getPublic());
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.dNSName, hostName)));
                X509Certificate cert = new JcaX509CertificateConverter()
                        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
                StringWriter out = new StringWriter();
                try (JcaPEMWriter w = new JcaPEMWriter(out)) {
                    // PKCS#8 ("PRIVATE KEY") keeps the curve with the key, for every reader.
                    w.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
                    w.writeObject(cert);
                }
                Path tmp = dir.resolve(pem.getFileName() + ".tmp");
                Files.deleteIfExists(tmp);
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, out.toString(), StandardCharsets.US_ASCII);
                Files.move(tmp, pem, StandardCopyOption.ATOMIC_MOVE);
            } catch (GeneralSecurityException | OperatorCreationException e) {
                throw new IOException("cannot make a self-signed certificate: " + e.getMessage(), e);
            }
        }
        return fromPem(pem, pem);
    }

    private static SSLContext context(PrivateKey key, X509Certificate[] chain) throws GeneralSecurityException,
            IOException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] password = new char[0];
        ks.setKeyEntry("listener", key, password, chain);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    /** A server-side TLS engine restricted to TLS 1.2+ (STARTTLS and implicit TLS alike). */
    public static SSLEngine serverEngine(SSLContext ctx) {
        SSLEngine engine = ctx.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setEnabledProtocols(PROTOCOLS);
        return engine;
    }
}
