package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.DeliverySettings;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.TlsSecurity;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;

/** What the DANE levels become for one server, from the TLSA answer and whether the MX and address were validated. */
class DanePolicyTest {
    private static final Tlsa EE = new Tlsa(3, 1, 1, new byte[32]);
    private static final Tlsa PKIX_EE = new Tlsa(1, 1, 1, new byte[32]);

    private final AtomicReference<String> asked = new AtomicReference<>();
    private final RelayConfig dnssecOn = withDnssec(true);

    private static RelayConfig withDnssec(boolean on) {
        RelayConfig cfg = Snapshots.of(RelaySettings.defaults().hostname("relay.local"));
        TlsSecurity tls = cfg.delivery().tls().withDnssec(on);
        DeliverySettings delivery = new DeliverySettings(cfg.delivery().smtp(), cfg.delivery().relayFailureThreshold(),
                cfg.delivery().limits(), tls);
        return new RelayConfig(cfg.myhostname(), cfg.routing(), cfg.listener(), delivery, cfg.queue(), cfg.content(),
                cfg.events(), cfg.cluster(), cfg.warnings(), cfg.sources());
    }

    private DanePolicy answering(DanePolicy.Answer.Status status, Tlsa... records) {
        return new DanePolicy(name -> {
            asked.set(name);
            return CompletableFuture.completedFuture(new DanePolicy.Answer(status, List.of(records)));
        });
    }

    private static Target mx(boolean dnssec) throws Exception {
        return new Target("mx1.example.test", InetAddress.getByName("192.0.2.1"), 25, dnssec);
    }

    private static final NextHop HOP = NextHop.direct("example.test", 25);

    private static TlsRequirements join(CompletableFuture<TlsRequirements> f) {
        return f.join();
    }

    private static TlsPolicyException failure(CompletableFuture<TlsRequirements> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return (TlsPolicyException) e.getCause();
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    void usableRecordsFromAValidatedChainMakeTlsMandatoryAndChecked() throws Exception {
        TlsRequirements r = join(answering(DanePolicy.Answer.Status.SECURE, EE, PKIX_EE)
                .requirements(TlsLevel.DANE, "test", dnssecOn, HOP, mx(true)));

        assertThat(asked.get()).isEqualTo("_25._tcp.mx1.example.test");
        assertThat(r.failureDefers()).isTrue();
        assertThat(r.check().kind()).isEqualTo(PeerCheck.Kind.DANE);
        assertThat(r.check().tlsa()).as("PKIX-EE is not usable for SMTP").containsExactly(EE);
        assertThat(r.check().names()).containsExactly("mx1.example.test", "example.test");
        assertThat(r.serverName(mx(true))).isEqualTo("mx1.example.test");
    }

    @Test
    void withoutUsableRecordsDaneIsOpportunisticAndDaneOnlyDefers() throws Exception {
        for (DanePolicy.Answer.Status s : List.of(DanePolicy.Answer.Status.NONE, DanePolicy.Answer.Status.INSECURE)) {
            TlsRequirements r = join(answering(s, EE).requirements(TlsLevel.DANE, "test", dnssecOn, HOP, mx(true)));
            assertThat(r.level()).as(s.name()).isEqualTo(TlsLevel.MAY);
            assertThat(r.failureDefers()).isFalse();
        }
        assertThat(join(answering(DanePolicy.Answer.Status.SECURE, PKIX_EE)
                .requirements(TlsLevel.DANE, "test", dnssecOn, HOP, mx(true))).level()).isEqualTo(TlsLevel.MAY);

        TlsPolicyException only = failure(answering(DanePolicy.Answer.Status.NONE)
                .requirements(TlsLevel.DANE_ONLY, "test", dnssecOn, HOP, mx(true)));
        assertThat(only.getMessage()).contains("no TLSA records").contains("dane-only");
    }

    @Test
    void aBogusAnswerDefersEvenForOpportunisticDane() throws Exception {
        TlsPolicyException e = failure(answering(DanePolicy.Answer.Status.BOGUS)
                .requirements(TlsLevel.DANE, "test", dnssecOn, HOP, mx(true)));

        assertThat(e.resultType()).isEqualTo("dnssec-invalid");
        assertThat(e.getMessage()).contains("bogus");
    }

    @Test
    void anUnvalidatedMxOrAddressIsNeverAskedForTlsa() throws Exception {
        TlsRequirements r = join(answering(DanePolicy.Answer.Status.SECURE, EE)
                .requirements(TlsLevel.DANE, "test", dnssecOn, HOP, mx(false)));

        assertThat(r.level()).isEqualTo(TlsLevel.MAY);
        assertThat(asked.get()).isNull();
        assertThat(failure(answering(DanePolicy.Answer.Status.SECURE, EE)
                .requirements(TlsLevel.DANE_ONLY, "test", dnssecOn, HOP, mx(false))).getMessage())
                .contains("no DNSSEC-validated MX or address");
    }

    @Test
    void withoutDnssecSupportDaneIsMayAndDaneOnlyDefers() throws Exception {
        RelayConfig off = withDnssec(false);

        assertThat(join(answering(DanePolicy.Answer.Status.SECURE, EE).requirements(TlsLevel.DANE, "test", off, HOP, mx(true)))
                .level()).isEqualTo(TlsLevel.MAY);
        assertThat(failure(new DanePolicy(null).requirements(TlsLevel.DANE_ONLY, "test", off, HOP, mx(true))).getMessage())
                .contains("smtp_dns_support_level = dnssec");
    }
}
