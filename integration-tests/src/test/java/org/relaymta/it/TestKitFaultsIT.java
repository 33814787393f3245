package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.relaymta.core.SubmitOption;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.test.RelayMtaExtension;
import org.relaymta.test.TestUpstream;
import org.relaymta.testing.TestCertificates;

/**
 * The test kit's faults, each used as an application's JUnit 5 test would use it: the fake smarthost
 * rejects, defers, stalls, drops the connection, requires STARTTLS or AUTH, is down and comes back;
 * it listens on loopback only; {@code awaitEmpty} returns after the last event reached the listeners.
 */
class TestKitFaultsIT {
    @RegisterExtension
    RelayMtaExtension relay = new RelayMtaExtension();

    private void send(String rcpt) throws Exception {
        relay.engine().submit("app@example.com", List.of(rcpt), ("Subject: to " + rcpt + "\r\n\r\nhello\r\n")
                .getBytes(StandardCharsets.US_ASCII), new SubmitOption[0]).get(10, TimeUnit.SECONDS);
    }

    private DeliveryEvent awaitEvent(String rcpt, DeliveryEvent.Status status) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> relay.events().stream()
                .filter(e -> e.recipient().equals(rcpt) && e.status() == status).findFirst().orElse(null), e -> e != null);
    }

    @Test
    void aRejectedRecipientBouncesAndTheOthersArrive() throws Exception {
        relay.upstream().rejectRecipient("nobody@example.org", "550 5.1.1 no such user");
        send("nobody@example.org");
        send("alice@example.org");
        DeliveryEvent bounced = awaitEvent("nobody@example.org", DeliveryEvent.Status.BOUNCED);
        assertThat(bounced.dsn()).isEqualTo("5.1.1");
        awaitEvent("alice@example.org", DeliveryEvent.Status.SENT);
        // alice's copy, and the bounce notice to app@example.com: nothing for nobody.
        assertThat(relay.upstream().messages()).extracting(m -> m.recipient()).contains("alice@example.org")
                .doesNotContain("nobody@example.org");
    }

    @Test
    void aRejectedMessageBouncesWhole() throws Exception {
        relay.upstream().rejectMessages("554 5.7.1 looks like spam");
        send("alice@example.org");
        assertThat(awaitEvent("alice@example.org", DeliveryEvent.Status.BOUNCED).reason()).contains("554 5.7.1 looks like spam");
    }

    @Test
    void aDeferralWaitsAndHealingDeliversIt() throws Exception {
        relay.upstream().deferAll("451 4.3.0 try again later");
        send("alice@example.org");
        assertThat(awaitEvent("alice@example.org", DeliveryEvent.Status.DEFERRED).dsn()).isEqualTo("4.3.0");
        relay.upstream().heal();
        relay.engine().queue().flush();
        assertThat(relay.awaitDelivered(1)).hasSize(1);
        assertThat(relay.engine().queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
        // awaitEmpty returns after the listeners had the last event: the sent event is there now.
        assertThat(relay.events()).anyMatch(e -> e.status() == DeliveryEvent.Status.SENT);
    }

    @Test
    void aDroppedConnectionAfterTheDataDefers() throws Exception {
        relay.upstream().dropAfterData();
        send("alice@example.org");
        DeliveryEvent deferred = awaitEvent("alice@example.org", DeliveryEvent.Status.DEFERRED);
        assertThat(deferred.dsn()).startsWith("4.");
        assertThat(relay.upstream().messages()).isEmpty();
    }

    @Test
    void aStalledReplyStillArrives() throws Exception {
        relay.upstream().stall(Duration.ofMillis(1500));
        long start = System.nanoTime();
        send("alice@example.org");
        relay.awaitDelivered(1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void downAndBackOnTheSamePort() throws Exception {
        int port = relay.upstream().port();
        relay.upstream().stop();
        send("alice@example.org");
        assertThat(awaitEvent("alice@example.org", DeliveryEvent.Status.DEFERRED).reason()).contains("refused");
        relay.upstream().start();
        assertThat(relay.upstream().port()).isEqualTo(port);
        relay.engine().queue().flush();
        assertThat(relay.awaitDelivered(1)).hasSize(1);
    }

    @Test
    void requireAuthRefusesMailWithoutCredentials() throws Exception {
        relay.upstream().requireAuth("app", "secret");
        send("alice@example.org");
        DeliveryEvent refused = awaitEvent("alice@example.org", DeliveryEvent.Status.BOUNCED);
        assertThat(refused.reason()).contains("530");
        assertThat(relay.upstream().messages()).extracting(m -> m.recipient()).doesNotContain("alice@example.org");
    }

    @Nested
    class WithCredentials {
        @RegisterExtension
        RelayMtaExtension authed = new RelayMtaExtension().configure(s -> s.credentials("app", "secret"));

        @Test
        void requireTlsAndAuthAcceptTheRightCredentialsOverTls() throws Exception {
            authed.upstream().requireTls(TestCertificates.selfSigned("localhost").serverContext()).requireAuth("app", "secret");
            authed.engine().submit("app@example.com", List.of("alice@example.org"), "Subject: authed\r\n\r\nx\r\n"
                    .getBytes(StandardCharsets.US_ASCII), new SubmitOption[0]).get(10, TimeUnit.SECONDS);
            assertThat(authed.awaitDelivered(1)).extracting(m -> m.recipient()).containsExactly("alice@example.org");
        }
    }

    @Test
    void requireTlsOffersStartTls() throws Exception {
        relay.upstream().requireTls(TestCertificates.selfSigned("localhost").serverContext());
        send("alice@example.org");
        assertThat(relay.awaitDelivered(1)).hasSize(1);
        assertThat(awaitEvent("alice@example.org", DeliveryEvent.Status.SENT).tls()).startsWith("TLSv1.");
    }

    @Test
    void itListensOnLoopbackOnly() throws Exception {
        int port = relay.upstream().port();
        InetAddress other = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
                .filter(a -> !a.isLoopbackAddress() && a instanceof java.net.Inet4Address).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(other != null, "no address besides loopback on this machine");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(other, port), 1000);
            throw new AssertionError("the upstream answered on " + other);
        } catch (java.io.IOException refused) {
            // as it should
        }
        assertThat(TestUpstream.freePort()).isBetween(20000, 32000);
    }
}
