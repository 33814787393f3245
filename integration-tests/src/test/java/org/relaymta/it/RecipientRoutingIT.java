package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.TestDnsServer;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * Routing by recipient domain end to end: transport_maps sends one domain to one upstream, another
 * to a second, a third to its own MX, bounces and defers by table, and spreads a balance pool by
 * weight, moving everything to the healthy hop when the other refuses connections.
 */
class RecipientRoutingIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path temp;

    private static Wiser upstream(String address, int port) throws Exception {
        Wiser w = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getByName(address)));
        w.start();
        return w;
    }

    private static byte[] message(String subject) {
        return ("Subject: " + subject + "\r\n\r\nx\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void eachRecipientDomainGoesWhereTheTransportTableSays() throws Exception {
        int a = RelayHarness.freePort();
        int b = RelayHarness.freePort();
        int direct = RelayHarness.freePort();
        Wiser ses = upstream("127.0.0.1", a);
        Wiser other = upstream("127.0.0.1", b);
        Wiser mx = upstream("127.0.0.2", direct);
        try (TestDnsServer dns = new TestDnsServer().mx("direct.test", "10 mx.direct.test").address("mx.direct.test", "127.0.0.2");
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), direct)
                     .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + b)) {
            Files.write(relay.configDir.resolve("postfix-transport.cf"), List.of(
                    "# one blocked provider through SES, everything else as before",
                    "blocked.test smtp:[127.0.0.1]:" + a,
                    "direct.test smtp:",
                    "gone.test error:5.1.1 this domain takes no mail",
                    "later.test retry:4.3.2 down for maintenance",
                    "void.test discard:"));
            relay.start();
            submit(relay, "bob@blocked.test");
            submit(relay, "bob@elsewhere.test");
            submit(relay, "bob@direct.test");
            List<DeliveryEvent> sent = List.of(relay.nextEvent(WAIT), relay.nextEvent(WAIT), relay.nextEvent(WAIT));
            assertThat(sent).allMatch(e -> e.status() == DeliveryEvent.Status.SENT);
            assertThat(ses.getMessages()).extracting(m -> m.getEnvelopeReceiver()).containsExactly("bob@blocked.test");
            assertThat(other.getMessages()).extracting(m -> m.getEnvelopeReceiver()).containsExactly("bob@elsewhere.test");
            assertThat(mx.getMessages()).extracting(m -> m.getEnvelopeReceiver()).containsExactly("bob@direct.test");

            submit(relay, "bob@gone.test");
            DeliveryEvent bounced = relay.nextEvent(DeliveryEvent.Status.BOUNCED, WAIT);
            assertThat(bounced.dsn()).isEqualTo("5.1.1");
            assertThat(bounced.reason()).isEqualTo("this domain takes no mail (transport_maps postfix-transport.cf:4)");
            assertThat(bounced.relay()).isEqualTo("none");

            submit(relay, "bob@later.test");
            DeliveryEvent deferred = relay.nextEvent(DeliveryEvent.Status.DEFERRED, WAIT);
            assertThat(deferred.dsn()).isEqualTo("4.3.2");
            assertThat(deferred.reason()).startsWith("down for maintenance");

            submit(relay, "bob@void.test");
            DeliveryEvent discarded;
            do {   // the bounce to app@one.test goes out meanwhile, through the default relay host
                discarded = relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
            } while (!discarded.recipient().equals("bob@void.test"));
            assertThat(discarded.reason()).startsWith("discarded");
            assertThat(discarded.relay()).isEqualTo("none");
            await().atMost(WAIT).until(() -> relay.server.engine().queue().size() == 1);   // later.test waits
            List<String> arrived = new ArrayList<>();
            for (Wiser w : List.of(ses, other, mx)) {
                w.getMessages().forEach(m -> arrived.add(m.getEnvelopeReceiver()));
            }
            assertThat(arrived).containsExactlyInAnyOrder("bob@blocked.test", "bob@elsewhere.test", "bob@direct.test",
                    "app@one.test");
        } finally {
            ses.stop();
            other.stop();
            mx.stop();
        }
    }

    private static void submit(RelayHarness relay, String rcpt) throws Exception {
        relay.server.engine().submit("app@one.test", List.of(rcpt), message("to " + rcpt)).get(10, TimeUnit.SECONDS);
    }

    @Test
    void aBalancePoolSpreadsByWeightAndMovesToTheHealthyHop() throws Exception {
        int a = RelayHarness.freePort();
        int b = RelayHarness.freePort();
        Wiser heavy = upstream("127.0.0.1", a);
        Wiser light = upstream("127.0.0.1", b);
        try (RelayHarness relay = new RelayHarness(temp)) {
            Files.write(relay.configDir.resolve("postfix-transport.cf"), List.of(
                    "pool.test smtp:balance [127.0.0.1]:" + a + " weight=3, [127.0.0.1]:" + b));
            relay.start();
            List<CompletableFuture<String>> queued = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                queued.add(relay.server.engine().submit("app@one.test", List.of("user" + i + "@pool.test"), message("m" + i)));
            }
            CompletableFuture.allOf(queued.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> heavy.getMessages().size() + light.getMessages().size() == 300);
            double share = heavy.getMessages().size() / 300.0;
            assertThat(share).as("heavy %d, light %d", heavy.getMessages().size(), light.getMessages().size())
                    .isBetween(0.75 * 0.9, 0.75 * 1.1);

            light.stop();   // connections to it are refused from now on
            int before = heavy.getMessages().size();
            for (int i = 0; i < 40; i++) {
                relay.server.engine().submit("app@one.test", List.of("later" + i + "@pool.test"), message("l" + i))
                        .get(10, TimeUnit.SECONDS);
            }
            await().atMost(WAIT).until(() -> heavy.getMessages().size() == before + 40);
            assertThat(relay.server.engine().queue().awaitEmpty(WAIT)).isTrue();
        } finally {
            heavy.stop();
        }
    }
}
