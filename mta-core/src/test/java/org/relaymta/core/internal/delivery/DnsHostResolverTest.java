package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.NextHop;
import org.relaymta.testing.TestDnsServer;

/**
 * MX and address lookups against a DNS server on loopback: preference order, implicit MX, null MX,
 * the address limit, final and temporary failures, and names that must never be looked up.
 */
class DnsHostResolverTest {
    private TestDnsServer dns;
    private EventLoopGroup group;
    private DnsHostResolver resolver;

    @SuppressWarnings("deprecation") // the one constructor Netty 4.1 and 4.2 share
    private static EventLoopGroup newGroup() {
        return new NioEventLoopGroup(1);
    }

    @BeforeEach
    void start() throws Exception {
        dns = new TestDnsServer();
        group = newGroup();
        resolver = new DnsHostResolver(group, List.of(dns.address()));
    }

    @AfterEach
    void stop() {
        resolver.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        dns.close();
    }

    private List<Target> resolve(String hop) throws Exception {
        return resolver.resolve(NextHop.parse(hop, "test")).get(20, TimeUnit.SECONDS);
    }

    private ResolveException failure(String hop) {
        CompletableFuture<List<Target>> f = resolver.resolve(NextHop.parse(hop, "test"));
        try {
            f.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = SmtpConnection.unwrap(e.getCause());
            assertThat(cause).isInstanceOf(ResolveException.class);
            return (ResolveException) cause;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError(hop + " resolved");
    }

    private static List<String> relays(List<Target> targets) {
        return targets.stream().map(Target::relay).toList();
    }

    @Test
    void mxHostsComeInPreferenceOrderEachWithItsAddresses() throws Exception {
        dns.mx("ext.test", "20 backup.ext.test", "10 mx1.ext.test")
                .address("mx1.ext.test", "192.0.2.10", "192.0.2.11")
                .address("backup.ext.test", "192.0.2.20");

        List<Target> targets = resolve("ext.test:25");

        assertThat(relays(targets)).containsExactly("mx1.ext.test[192.0.2.10]:25", "mx1.ext.test[192.0.2.11]:25",
                "backup.ext.test[192.0.2.20]:25");
    }

    @Test
    void aBracketedHopIsLookedUpWithoutMx() throws Exception {
        dns.mx("smtp.provider.test", "10 elsewhere.test").address("smtp.provider.test", "192.0.2.30");

        assertThat(relays(resolve("[smtp.provider.test]:587"))).containsExactly("smtp.provider.test[192.0.2.30]:587");
    }

    @Test
    void aDomainWithoutMxIsItsOwnMx() throws Exception {
        dns.address("plain.test", "192.0.2.40");

        assertThat(relays(resolve("plain.test:25"))).containsExactly("plain.test[192.0.2.40]:25");
    }

    @Test
    void anIpLiteralIsNeverLookedUp() throws Exception {
        assertThat(relays(resolve("[192.0.2.50]:2525"))).containsExactly("192.0.2.50[192.0.2.50]:2525");
    }

    @Test
    void aNullMxBouncesAtOnce() {
        dns.mx("nomail.test", "0 .");

        ResolveException e = failure("nomail.test:25");

        assertThat(e.dsn()).isEqualTo("5.1.10");
        assertThat(e.getMessage()).isEqualTo("Host or domain name not found. Domain nomail.test does not accept mail (nullMX)");
    }

    @Test
    void nxdomainIsFinalAndServfailIsTemporary() {
        ResolveException missing = failure("missing.test:25");
        assertThat(missing.permanent()).isTrue();
        assertThat(missing.dsn()).isEqualTo("5.4.4");
        assertThat(missing.getMessage()).contains("name=missing.test type=MX: Host not found");

        dns.servfail("broken.test");
        ResolveException broken = failure("broken.test:25");
        assertThat(broken.permanent()).isFalse();
        assertThat(broken.dsn()).isEqualTo("4.4.3");
        assertThat(broken.getMessage()).contains("name=broken.test type=MX").endsWith("(try again later)");
    }

    @Test
    void anMxHostThatFailsIsSkippedForTheNext() throws Exception {
        dns.mx("ext.test", "10 gone.ext.test", "20 mx2.ext.test").address("mx2.ext.test", "192.0.2.60");

        assertThat(relays(resolve("ext.test:25"))).containsExactly("mx2.ext.test[192.0.2.60]:25");
    }

    @Test
    void whenEveryMxHostFailsTemporarilyTheDeliveryIsTriedLater() {
        dns.mx("ext.test", "10 mx1.ext.test", "20 mx2.ext.test").servfail("mx1.ext.test").servfail("mx2.ext.test");

        ResolveException e = failure("ext.test:25");

        assertThat(e.permanent()).isFalse();
        assertThat(e.getMessage()).contains("name=mx2.ext.test type=A");
    }

    @Test
    void whenNoMxHostHasAnAddressTheDomainBounces() throws Exception {
        dns.mx("ext.test", "10 mx1.ext.test");
        dns.address("mx1.ext.test");

        ResolveException e = failure("ext.test:25");

        assertThat(e.permanent()).isTrue();
    }

    @Test
    void noMoreThanFiveAddressesAreTried() throws Exception {
        dns.mx("big.test", "10 a.big.test", "20 b.big.test")
                .address("a.big.test", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")
                .address("b.big.test", "192.0.2.5", "192.0.2.6", "192.0.2.7");

        List<Target> targets = resolve("big.test:25");

        assertThat(targets).hasSize(DnsHostResolver.ADDRESS_LIMIT);
        assertThat(relays(targets)).startsWith("a.big.test[192.0.2.1]:25").endsWith("b.big.test[192.0.2.5]:25");
    }

    @Test
    void aMalformedMxNameFromTheAnswerIsSkippedAndNeverLookedUp() throws Exception {
        dns.mx("hostile.test", "10 evil name\r\nRCPT.test", "20 good.hostile.test").address("good.hostile.test", "192.0.2.70");

        assertThat(relays(resolve("hostile.test:25"))).containsExactly("good.hostile.test[192.0.2.70]:25");

        dns.mx("allbad.test", "10 bad_name!.test");
        ResolveException e = failure("allbad.test:25");
        assertThat(e.permanent()).as("only malformed answers: ask again later").isFalse();
        assertThat(e.getMessage()).contains("malformed or unexpected name server reply");
    }

    @Test
    void aDestinationThatIsNoHostNameIsRefusedWithoutAQuery() {
        assertThatThrownBy(() -> DnsHostResolver.lookupName("a..b"))
                .isInstanceOf(ResolveException.class)
                .hasMessageContaining("Malformed domain name");
        assertThatThrownBy(() -> DnsHostResolver.lookupName("x\r\ny.test"))
                .isInstanceOf(ResolveException.class)
                .hasMessageNotContaining("\r\n");
    }

    @Test
    void anInternationalisedNameIsLookedUpAsItsALabels() throws Exception {
        assertThat(DnsHostResolver.lookupName("B\u00fccher.Example")).isEqualTo("xn--bcher-kva.example");
        dns.address("xn--bcher-kva.example", "192.0.2.80");

        assertThat(relays(resolve("[b\u00fccher.example]:25"))).containsExactly("xn--bcher-kva.example[192.0.2.80]:25");
    }

    @Test
    void serverListsParseAsResolvConfWouldNameThem() {
        assertThat(DnsHostResolver.parseServers("127.0.0.1, 10.0.0.2:5353 [::1]:5300 [fe80::1]"))
                .containsExactly(new InetSocketAddress("127.0.0.1", 53), new InetSocketAddress("10.0.0.2", 5353),
                        new InetSocketAddress("::1", 5300), new InetSocketAddress("fe80::1", 53));
    }
}
