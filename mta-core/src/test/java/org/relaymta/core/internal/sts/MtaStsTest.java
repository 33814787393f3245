package org.relaymta.core.internal.sts;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.internal.tls.HttpsRequests;
import org.relaymta.core.internal.tls.TrustStores;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.StsPolicyServer;
import org.relaymta.testing.TestCertificates;

/** The policy cache's rules on a moved clock, against a real HTTPS policy server and a scripted TXT answer. */
class MtaStsTest {
    @TempDir
    Path dir;
    private final MovedClock clock = new MovedClock();
    private final Map<String, List<String>> txt = new ConcurrentHashMap<>();
    private EventLoopGroup group;
    private StsPolicyServer server;
    private MtaSts sts;

    @SuppressWarnings("deprecation")
    @BeforeEach
    void start() throws Exception {
        TestCertificates.Ca ca = TestCertificates.ca();
        server = new StsPolicyServer(InetAddress.getLoopbackAddress(), 0, ca.issue("mta-sts.a.test").serverContext());
        Files.writeString(dir.resolve("ca.pem"), ca.pem());
        group = new NioEventLoopGroup(1);
        HttpsRequests https = new HttpsRequests(group, TrustStores.load(Optional.of(dir.resolve("ca.pem")), Optional.empty()));
        MtaSts.PolicyDns dns = new MtaSts.PolicyDns() {
            @Override
            public CompletableFuture<List<String>> txt(String name) {
                return CompletableFuture.completedFuture(txt.getOrDefault(name, List.of()));
            }

            @Override
            public CompletableFuture<InetAddress> address(String host) {
                return CompletableFuture.completedFuture(InetAddress.getLoopbackAddress());
            }
        };
        sts = new MtaSts(dns, () -> https, dir.resolve("spool"), clock);
    }

    @AfterEach
    void stop() {
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private MtaSts.Lookup lookup() throws Exception {
        return sts.policy("a.test", server.port()).get();
    }

    private long fetches() {
        return server.requests.size();
    }

    @Test
    void fetchedOnceThenCachedUntilTheTxtIdChanges() throws Exception {
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        server.policy("a.test", StsPolicyServer.policyText("enforce", 86400, "mx.a.test"));
        assertThat(lookup().policy()).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE));
        assertThat(lookup().policy()).isPresent();
        assertThat(fetches()).isEqualTo(1);

        clock.advance(MtaSts.TXT_RECHECK.plusSeconds(1));
        assertThat(lookup().policy()).isPresent();
        assertThat(fetches()).as("same id: not fetched again").isEqualTo(1);

        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=two"));
        server.policy("a.test", StsPolicyServer.policyText("testing", 86400, "mx.a.test"));
        clock.advance(MtaSts.TXT_RECHECK.plusSeconds(1));
        assertThat(lookup().policy().get().mode()).isEqualTo(StsPolicy.Mode.TESTING);
        assertThat(fetches()).isEqualTo(2);
    }

    @Test
    void aFailedFetchKeepsTheCachedPolicyUntilItExpires() throws Exception {
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        server.policy("a.test", StsPolicyServer.policyText("enforce", 3600, "mx.a.test"));
        assertThat(lookup().policy()).isPresent();

        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=two"));
        server.answer("a.test", new StsPolicyServer.Answer(500, "text/plain", "oops", null));
        clock.advance(MtaSts.TXT_RECHECK.plusSeconds(1));
        MtaSts.Lookup kept = lookup();
        assertThat(kept.policy()).isPresent();
        assertThat(kept.failure()).contains("sts-policy-fetch-error");

        clock.advance(Duration.ofHours(1));
        MtaSts.Lookup expired = lookup();
        assertThat(expired.policy()).isEmpty();
        assertThat(expired.failure()).contains("sts-policy-fetch-error");
    }

    @Test
    void aMissingTxtRecordDoesNotRemoveACachedPolicy() throws Exception {
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        server.policy("a.test", StsPolicyServer.policyText("enforce", 86400, "mx.a.test"));
        assertThat(lookup().policy()).isPresent();
        txt.remove("_mta-sts.a.test");
        clock.advance(MtaSts.TXT_RECHECK.plusSeconds(1));
        assertThat(lookup().policy()).isPresent();
        clock.advance(Duration.ofDays(1));
        assertThat(lookup().policy()).isEmpty();
    }

    @Test
    void redirectsAndOtherMediaTypesAreNoPolicy() throws Exception {
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        server.answer("a.test", new StsPolicyServer.Answer(302, "text/plain", "", "https://elsewhere.test/"));
        MtaSts.Lookup redirected = lookup();
        assertThat(redirected.policy()).isEmpty();
        assertThat(redirected.detail()).contains("HTTP 302 (redirects are not followed)");

        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=two"));
        server.answer("a.test", new StsPolicyServer.Answer(200, "text/html", StsPolicyServer.policyText("enforce", 60, "x.test"), null));
        clock.advance(MtaSts.TXT_RECHECK.plusSeconds(1));
        MtaSts.Lookup html = lookup();
        assertThat(html.policy()).isEmpty();
        assertThat(html.failure()).contains("sts-policy-invalid");
    }

    @Test
    void anUntrustedPolicyHostIsAWebPkiFailure() throws Exception {
        server.close();
        server = new StsPolicyServer(InetAddress.getLoopbackAddress(), 0, TestCertificates.selfSigned("mta-sts.a.test").serverContext());
        server.policy("a.test", StsPolicyServer.policyText("enforce", 86400, "mx.a.test"));
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        MtaSts.Lookup l = lookup();
        assertThat(l.policy()).isEmpty();
        assertThat(l.failure()).contains("sts-webpki-invalid");
    }

    @Test
    void aPolicyOnDiskIsUsedByTheNextProcess() throws Exception {
        txt.put("_mta-sts.a.test", List.of("v=STSv1; id=one"));
        server.policy("a.test", StsPolicyServer.policyText("enforce", 86400, "mx.a.test"));
        assertThat(lookup().policy()).isPresent();
        server.answer("a.test", new StsPolicyServer.Answer(503, "text/plain", "down", null));
        MtaSts again = new MtaSts(new MtaSts.PolicyDns() {
            @Override
            public CompletableFuture<List<String>> txt(String name) {
                return CompletableFuture.completedFuture(txt.getOrDefault(name, List.of()));
            }

            @Override
            public CompletableFuture<InetAddress> address(String host) {
                return CompletableFuture.failedFuture(new IllegalStateException("not asked"));
            }
        }, () -> null, dir.resolve("spool"), clock);
        assertThat(again.policy("a.test", server.port()).get().policy()).hasValueSatisfying(p -> assertThat(p.mx())
                .containsExactly("mx.a.test"));
        assertThat(again.cached("a.test")).isPresent();
    }
}
