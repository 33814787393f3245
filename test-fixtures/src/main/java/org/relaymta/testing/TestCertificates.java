package org.relaymta.testing;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Server certificates made with BouncyCastle at test time: self-signed, or signed by a test CA. */
public final class TestCertificates {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private TestCertificates() {
    }

    /** A CA and a server certificate it signed, for the verify, secure, DANE-TA and MTA-STS checks. */
    public record Pki(SSLContext serverContext, String caPem, X509Certificate caCert, X509Certificate serverCert,
                      PrivateKey serverKey) {
        /** The server's key as PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), for a listener's smtpd_tls_key_file. */
        public String keyPem() {
            return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(serverKey.getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
        }

        /** The server certificate and the CA's, as a PEM chain, for a listener's smtpd_tls_cert_file. */
        public String chainPem() throws Exception {
            return pem(serverCert) + pem(caCert);
        }
    }

    /** A test CA that signs several server certificates (an MX and an MTA-STS policy host, say). */
    public static final class Ca {
        private final KeyPair keys;
        private final X500Name name;
        public final X509Certificate cert;

        private Ca(KeyPair keys, X500Name name, X509Certificate cert) {
            this.keys = keys;
            this.name = name;
            this.cert = cert;
        }

        public String pem() throws Exception {
            return TestCertificates.pem(cert);
        }

        /** A server certificate for {@code names}, valid from yesterday for a day, and a context serving it. */
        public Pki issue(String... names) throws Exception {
            Instant now = Instant.now();
            return issue(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(1)), names);
        }

        /** A server certificate valid from {@code notBefore} to {@code notAfter} (an expired one, say). */
        public Pki issue(Instant notBefore, Instant notAfter, String... names) throws Exception {
            KeyPair serverKeys = keys();
            X509Certificate server = leaf(name, keys, serverKeys, notBefore, notAfter, names);
            return new Pki(context(serverKeys, server, cert), TestCertificates.pem(cert), cert, server, serverKeys.getPrivate());
        }
    }

    public static Ca ca() throws Exception {
        KeyPair caKeys = keys();
        Instant now = Instant.now();
        X500Name caName = new X500Name("CN=Relay MTA Test CA " + SERIAL.incrementAndGet());
        JcaX509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofDays(2))), Date.from(now.plus(Duration.ofDays(30))), caName, caKeys.getPublic());
        ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        ca.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate caCert = new JcaX509CertificateConverter()
                .getCertificate(ca.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        return new Ca(caKeys, caName, caCert);
    }

    public static Pki caSigned(String... serverNames) throws Exception {
        return caSigned(Instant.now().plus(Duration.ofDays(1)), serverNames);
    }

    /** As {@link #caSigned(String...)}, the server certificate valid until {@code notAfter}. */
    public static Pki caSigned(Instant notAfter, String... serverNames) throws Exception {
        KeyPair caKeys = keys();
        KeyPair serverKeys = keys();
        Instant now = Instant.now();
        X500Name caName = new X500Name("CN=Relay MTA Test CA");
        JcaX509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofDays(2))), Date.from(now.plus(Duration.ofDays(30))), caName, caKeys.getPublic());
        ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        ca.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate caCert = new JcaX509CertificateConverter()
                .getCertificate(ca.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        X509Certificate serverCert = leaf(caName, caKeys, serverKeys, now.minus(Duration.ofDays(1)), notAfter, serverNames);
        return new Pki(context(serverKeys, serverCert, caCert), pem(caCert), caCert, serverCert, serverKeys.getPrivate());
    }

    /** A self-signed server certificate and a context serving it. */
    public record SelfSigned(SSLContext serverContext, X509Certificate cert) {
    }

    public static SelfSigned selfSigned(String... names) throws Exception {
        KeyPair keys = keys();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + names[0]);
        X509Certificate cert = leaf(subject, keys, keys, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), names);
        return new SelfSigned(context(keys, cert), cert);
    }

    public static SSLContext selfSignedServerContext(String hostName) throws Exception {
        return selfSigned(hostName).serverContext();
    }

    /** The PEM text of a certificate. */
    public static String pem(X509Certificate cert) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    /** SHA-256 of the whole certificate, hex (a TLSA "x 0 1" record's data, a fingerprint). */
    public static String sha256OfCertificate(X509Certificate cert) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    }

    /** SHA-256 of the public key (SubjectPublicKeyInfo), hex (a TLSA "x 1 1" record's data). */
    public static String sha256OfPublicKey(X509Certificate cert) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getPublicKey().getEncoded()));
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        return gen.generateKeyPair();
    }

    private static X509Certificate leaf(X500Name issuer, KeyPair issuerKeys, KeyPair keys, Instant notBefore, Instant notAfter,
                                        String... names) throws Exception {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + names[0]), keys.getPublic());
        List<GeneralName> sans = new ArrayList<>();
        for (String n : names) {
            sans.add(new GeneralName(GeneralName.dNSName, n));
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }

    private static SSLContext context(KeyPair keys, X509Certificate... chain) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] password = "test".toCharArray();
        ks.setKeyEntry("server", keys.getPrivate(), password, chain);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }
}
