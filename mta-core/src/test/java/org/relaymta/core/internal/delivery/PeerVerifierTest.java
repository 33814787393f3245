package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.internal.tls.TrustStores;
import org.relaymta.testing.TestCertificates;

/** The certificate checks after the handshake: PKIX with names, fingerprints, DANE-EE and DANE-TA. */
class PeerVerifierTest {
    @TempDir
    Path dir;

    private PeerVerifier trusting(X509Certificate ca) throws Exception {
        Path file = dir.resolve("ca.pem");
        Files.writeString(file, TestCertificates.pem(ca));
        X509TrustManager tm = TrustStores.load(Optional.of(file), Optional.empty());
        return new PeerVerifier(tm, Clock.systemUTC());
    }

    private static Tlsa tlsa(int usage, int selector, String hex) {
        return new Tlsa(usage, selector, 1, HexFormat.of().parseHex(hex));
    }

    @Test
    void pkixNeedsATrustedChainAndAMatchingName() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned("mx1.example.test", "*.mail.example.test");
        PeerVerifier v = trusting(pki.caCert());
        X509Certificate[] chain = {pki.serverCert(), pki.caCert()};

        assertThat(v.check(chain, PeerCheck.pkix(List.of("mx1.example.test")))).isEmpty();
        assertThat(v.check(chain, PeerCheck.pkix(List.of("in.mail.example.test")))).as("wildcard, one label").isEmpty();
        assertThat(v.check(chain, PeerCheck.pkix(List.of("a.b.mail.example.test")))).isPresent();
        assertThat(v.check(chain, PeerCheck.pkix(List.of(".example.test")))).as("dot-nexthop").isEmpty();
        Optional<PeerVerifier.Failure> wrong = v.check(chain, PeerCheck.pkix(List.of("example.test")));
        assertThat(wrong).get().extracting(PeerVerifier.Failure::resultType).isEqualTo("certificate-host-mismatch");
        assertThat(wrong.get().reason()).contains("mx1.example.test").contains("example.test");

        PeerVerifier other = trusting(TestCertificates.caSigned("x.test").caCert());
        Optional<PeerVerifier.Failure> untrusted = other.check(chain, PeerCheck.pkix(List.of("mx1.example.test")));
        assertThat(untrusted).get().extracting(PeerVerifier.Failure::resultType).isEqualTo("certificate-not-trusted");
        assertThat(untrusted.get().reason()).startsWith("Server certificate not trusted");
    }

    @Test
    void anExpiredCertificateIsReportedAsExpired() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned(Instant.now().minus(Duration.ofHours(1)), "mx.example.test");
        PeerVerifier v = trusting(pki.caCert());

        Optional<PeerVerifier.Failure> f = v.check(new X509Certificate[] {pki.serverCert(), pki.caCert()},
                PeerCheck.sts(List.of("mx.example.test")));

        assertThat(f).get().extracting(PeerVerifier.Failure::resultType).isEqualTo("certificate-expired");
    }

    @Test
    void fingerprintsMatchTheCertificateOrItsPublicKey() throws Exception {
        TestCertificates.SelfSigned s = TestCertificates.selfSigned("relay.test");
        PeerVerifier v = trusting(TestCertificates.caSigned("unrelated.test").caCert());
        X509Certificate[] chain = {s.cert()};

        assertThat(v.check(chain, PeerCheck.fingerprint(List.of(TestCertificates.sha256OfCertificate(s.cert()))))).isEmpty();
        assertThat(v.check(chain, PeerCheck.fingerprint(List.of("00".repeat(32), TestCertificates.sha256OfPublicKey(s.cert())))))
                .isEmpty();
        Optional<PeerVerifier.Failure> f = v.check(chain, PeerCheck.fingerprint(List.of("00".repeat(32))));
        assertThat(f).isPresent();
        assertThat(f.get().reason()).contains("fingerprint").contains(":");
    }

    @Test
    void daneEeMatchesTheLeafWithoutNameOrTrustOrDate() throws Exception {
        TestCertificates.Pki expired = TestCertificates.caSigned(Instant.now().minus(Duration.ofDays(1)), "whatever.test");
        PeerVerifier v = trusting(TestCertificates.caSigned("x.test").caCert());
        X509Certificate[] chain = {expired.serverCert()};

        PeerCheck byKey = PeerCheck.dane(List.of(tlsa(3, 1, TestCertificates.sha256OfPublicKey(expired.serverCert()))),
                List.of("mx.example.test"));
        PeerCheck byCert = PeerCheck.dane(List.of(tlsa(3, 0, TestCertificates.sha256OfCertificate(expired.serverCert()))),
                List.of("mx.example.test"));
        assertThat(v.check(chain, byKey)).isEmpty();
        assertThat(v.check(chain, byCert)).isEmpty();

        Optional<PeerVerifier.Failure> mismatch = v.check(chain, PeerCheck.dane(List.of(tlsa(3, 1, "ab".repeat(32))),
                List.of("mx.example.test")));
        assertThat(mismatch).get().extracting(PeerVerifier.Failure::resultType).isEqualTo("tlsa-invalid");
    }

    @Test
    void daneTaMatchesAnIssuerInTheChainAndThenTheNameCounts() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned("mx.example.test");
        PeerVerifier v = trusting(TestCertificates.caSigned("x.test").caCert());   // PKIX trust plays no part
        X509Certificate[] chain = {pki.serverCert(), pki.caCert()};
        Tlsa ta = tlsa(2, 0, TestCertificates.sha256OfCertificate(pki.caCert()));

        assertThat(v.check(chain, PeerCheck.dane(List.of(ta), List.of("mx.example.test", "example.test")))).isEmpty();
        Optional<PeerVerifier.Failure> name = v.check(chain, PeerCheck.dane(List.of(ta), List.of("other.test")));
        assertThat(name).get().extracting(PeerVerifier.Failure::resultType).isEqualTo("certificate-host-mismatch");
        assertThat(v.check(new X509Certificate[] {pki.serverCert()}, PeerCheck.dane(List.of(ta), List.of("mx.example.test"))))
                .as("the trust anchor must be presented").isPresent();

        TestCertificates.Pki otherCa = TestCertificates.caSigned("mx.example.test");
        X509Certificate[] forged = {otherCa.serverCert(), pki.caCert()};
        assertThat(v.check(forged, PeerCheck.dane(List.of(ta), List.of("mx.example.test"))))
                .as("a leaf the anchor did not sign").isPresent();
    }

    @Test
    void onlyDaneTaAndDaneEeRecordsAreUsable() {
        assertThat(tlsa(3, 1, "ab".repeat(32)).usable()).isTrue();
        assertThat(tlsa(2, 0, "ab".repeat(32)).usable()).isTrue();
        assertThat(tlsa(1, 1, "ab".repeat(32)).usable()).as("PKIX-EE is not for SMTP").isFalse();
        assertThat(tlsa(0, 0, "ab".repeat(32)).usable()).isFalse();
        assertThat(tlsa(3, 1, "ab".repeat(20)).usable()).as("a SHA-256 of the wrong length").isFalse();
        assertThat(new Tlsa(3, 2, 1, new byte[32]).usable()).isFalse();
    }

    @Test
    void namesAsRfc6125MatchesThem() {
        assertThat(PeerVerifier.nameMatches("MX.Example.TEST", "mx.example.test.")).isTrue();
        assertThat(PeerVerifier.nameMatches("*.example.test", "mx.example.test")).isTrue();
        assertThat(PeerVerifier.nameMatches("*.example.test", "example.test")).isFalse();
        assertThat(PeerVerifier.nameMatches("*.test", "example.test")).as("no wildcard over a public suffix's single label")
                .isFalse();
        assertThat(PeerVerifier.nameMatches("example.test", ".example.test")).isFalse();
        assertThat(PeerVerifier.nameMatches("mx.example.test", ".example.test")).isTrue();
    }
}
