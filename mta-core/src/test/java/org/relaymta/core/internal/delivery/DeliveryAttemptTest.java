package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Router;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * One delivery request across next hops and their servers, against scripted SMTP servers on
 * loopback: failover, the session limit, the circuit breaker, the cached session, and how the
 * last failure words a deferral or a bounce.
 */
class DeliveryAttemptTest {
    private static final String CONTENT = "Subject: attempt\r\n\r\nbody\r\n";

    private final EventLoopGroup group = newGroup();
    private final Sessions sessions = new Sessions(group, null);
    private final MovedClock clock = new MovedClock();
    private final RelayHealth health = new RelayHealth(clock);
    /** Host name to the loopback ports of its servers, as the fake DNS answers. */
    private final Map<String, List<Integer>> hosts = new ConcurrentHashMap<>();
    private final Map<String, ResolveException> broken = new ConcurrentHashMap<>();
    private final AtomicInteger lookups = new AtomicInteger();
    private final RouteSelector routes = new RouteSelector(hop -> {
        lookups.incrementAndGet();
        ResolveException e = broken.get(hop.host());
        if (e != null) {
            return CompletableFuture.failedFuture(e);
        }
        List<Target> targets = new ArrayList<>();
        for (int port : hosts.getOrDefault(hop.host(), List.of())) {
            targets.add(new Target(hop.host(), InetAddress.getLoopbackAddress(), port));
        }
        return CompletableFuture.completedFuture(targets);
    });
    private DestinationPolicy policy = (request, hop, target) -> CompletableFuture.completedFuture(TlsRequirements.none("test"));
    private final List<AutoCloseable> servers = new ArrayList<>();

    @SuppressWarnings("deprecation") // the one constructor Netty 4.1 and 4.2 share
    private static EventLoopGroup newGroup() {
        return new NioEventLoopGroup(1);
    }

    @AfterEach
    void stop() throws Exception {
        sessions.close();
        routes.close();
        for (AutoCloseable s : servers) {
            s.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private ScriptedSmtpServer server(String host, ScriptedSmtpServer s) {
        servers.add(s);
        hosts.computeIfAbsent(host, h -> new ArrayList<>()).add(s.port());
        return s;
    }

    private ScriptedSmtpServer accepting(String host, String rcptReply) throws IOException {
        return server(host, ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> rcptReply));
    }

    /** A port nothing listens on: the connection is refused. */
    private int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static RelayConfig config(String relayhost) {
        return Snapshots.of(RelaySettings.defaults().defaultRelayHost(relayhost).tlsLevel(TlsLevel.NONE).hostname("relay.local"));
    }

    private List<DeliveryOutcome> deliver(RelayConfig cfg, String... rcpts) throws Exception {
        byte[] bytes = CONTENT.getBytes(StandardCharsets.US_ASCII);
        DeliveryRequest request = new DeliveryRequest("TESTID", "app@one.test", List.of(rcpts), bytes.length, false,
                () -> new ByteArrayInputStream(bytes), Router.route(cfg, "app@one.test", rcpts[0]), cfg);
        return new DeliveryAttempt(request, routes, policy, sessions, 25, health).run().get(30, TimeUnit.SECONDS);
    }

    @Test
    void everyRecipientIsDecidedInTheOrderGiven() throws Exception {
        ScriptedSmtpServer relay = accepting("relay1.test", "250 2.1.5 ok");

        List<DeliveryOutcome> out = deliver(config("[relay1.test]:25"), "b@ext.test", "a@ext.test");

        assertThat(out).extracting(DeliveryOutcome::recipient).containsExactly("b@ext.test", "a@ext.test");
        assertThat(out).extracting(DeliveryOutcome::status).containsOnly(DeliveryOutcome.Status.SENT);
        assertThat(out.get(0).relay()).isEqualTo("relay1.test[127.0.0.1]:" + relay.port());
        assertThat(relay.received).contains("MAIL FROM:<app@one.test>", "RCPT TO:<b@ext.test>", "RCPT TO:<a@ext.test>");
    }

    @Test
    void aRefusedConnectionFailsOverToTheNextHop() throws Exception {
        hosts.put("relay1.test", List.of(closedPort()));
        ScriptedSmtpServer second = accepting("relay2.test", "250 2.1.5 ok");

        List<DeliveryOutcome> out = deliver(config("[relay1.test]:25, [relay2.test]:25"), "b@ext.test");

        assertThat(out.get(0).status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(out.get(0).relay()).isEqualTo("relay2.test[127.0.0.1]:" + second.port());
    }

    @Test
    void whenEveryHopFailsTheLastFailureDefersAndEachHopCountsOneOnItsBreaker() throws Exception {
        server("relay1.test", new ScriptedSmtpServer(line -> line.startsWith("EHLO") || line.startsWith("HELO")
                ? "421 4.3.2 shutting down" : "250 ok"));
        server("relay2.test", new ScriptedSmtpServer(line -> line.startsWith("EHLO") || line.startsWith("HELO")
                ? "421 4.3.2 also down" : "250 ok"));
        RelayConfig cfg = config("[relay1.test]:25, [relay2.test]:25");

        DeliveryOutcome out = deliver(cfg, "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(out.dsn()).isEqualTo("4.3.2");
        assertThat(out.reason()).contains("also down");
        deliver(cfg, "b@ext.test");
        deliver(cfg, "b@ext.test");
        assertThat(health.state("[relay1.test]:25")).as("relay_failure_threshold = 3").isEqualTo(RelayHealth.State.OPEN);
        assertThat(health.state("[relay2.test]:25")).isEqualTo(RelayHealth.State.OPEN);
    }

    @Test
    void anOpenBreakerIsNotTriedAndSaysWhenItWillBeProbed() throws Exception {
        ScriptedSmtpServer relay = accepting("relay1.test", "250 ok");
        health.failed("[relay1.test]:25", 1);

        DeliveryOutcome out = deliver(config("[relay1.test]:25"), "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(out.dsn()).isEqualTo("4.4.1");
        assertThat(out.reason()).startsWith("relay health: next hop [relay1.test]:25 is unavailable after repeated failed sessions")
                .contains("next probe at " + clock.instant().plus(RelayHealth.FIRST_COOL_DOWN));
        assertThat(relay.received).as("no connection").isEmpty();
        assertThat(lookups).hasValue(0);
    }

    @Test
    void aRefusedRecipientBouncesWhileTheOthersAreSent() throws Exception {
        server("relay1.test", new ScriptedSmtpServer(line -> {
            if (line.startsWith("EHLO")) {
                return "250-relay1.test\n250 PIPELINING";
            }
            if (line.equals("RCPT TO:<gone@ext.test>")) {
                return "550 5.1.1 <gone@ext.test>: user unknown";
            }
            return line.equals("DATA") ? "354 go" : line.equals("QUIT") ? "221 bye" : "250 ok";
        }));

        List<DeliveryOutcome> out = deliver(config("[relay1.test]:25"), "here@ext.test", "gone@ext.test");

        assertThat(out.get(0).status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(out.get(1).status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(out.get(1).dsn()).isEqualTo("5.1.1");
    }

    @Test
    void aServersPermanentRefusalBouncesEvenAfterASoftFailureElsewhere() throws Exception {
        server("relay1.test", new ScriptedSmtpServer(line -> line.startsWith("MAIL") ? "421 4.7.0 try later"
                : line.startsWith("EHLO") ? "250 relay1.test" : "250 ok"));
        server("relay2.test", new ScriptedSmtpServer(line -> line.startsWith("MAIL") ? "554 5.7.1 no relaying"
                : line.startsWith("EHLO") ? "250 relay2.test" : "250 ok"));

        DeliveryOutcome out = deliver(config("[relay1.test]:25, [relay2.test]:25"), "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(out.dsn()).isEqualTo("5.7.1");
        assertThat(out.reason()).endsWith("554 5.7.1 no relaying (in reply to MAIL FROM command)");
    }

    @Test
    void aPermanentLookupFailureOfOneHopOnlyDefersWhenAnotherHopFailedSoftly() throws Exception {
        server("relay1.test", new ScriptedSmtpServer(line -> line.startsWith("MAIL") ? "421 4.7.0 try later"
                : line.startsWith("EHLO") ? "250 relay1.test" : "250 ok"));
        broken.put("relay2.test", new ResolveException("5.4.4", "Host or domain name not found. Name service error for "
                + "name=relay2.test type=A: Host not found"));
        RelayConfig cfg = Snapshots.of(RelaySettings.defaults().defaultRelayHost("[relay1.test]:25")
                .senderRelay("app@one.test", "[relay1.test]:25, [relay2.test]:25").tlsLevel(TlsLevel.NONE).hostname("relay.local"));

        DeliveryOutcome out = deliver(cfg, "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(out.dsn()).as("a 5.x.x written as 4.x.x when it defers").isEqualTo("4.4.4");
        assertThat(out.reason()).contains("name=relay2.test type=A: Host not found");
    }

    @Test
    void noMoreThanTwoSessionsPerRequest() throws Exception {
        List<ScriptedSmtpServer> tried = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            tried.add(server("relay1.test", new ScriptedSmtpServer(line -> line.startsWith("EHLO") ? "250 relay1.test"
                    : line.startsWith("MAIL") ? "451 4.3.0 local problem" : "250 ok")));
        }

        DeliveryOutcome out = deliver(config("[relay1.test]:25"), "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(tried).filteredOn(s -> !s.received.isEmpty()).as("smtp_mx_session_limit = 2").hasSize(2);
    }

    @Test
    void aBrokenRelayhostDefersInsteadOfBouncing() throws Exception {
        broken.put("relay1.test", new ResolveException("5.4.4", "Host or domain name not found. Name service error for "
                + "name=relay1.test type=A: Host not found"));

        DeliveryOutcome out = deliver(config("[relay1.test]:25"), "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(out.dsn()).isEqualTo("4.3.5");
        assertThat(out.reason()).endsWith("(relayhost configuration problem)");
        assertThat(out.relay()).isEqualTo("none");
    }

    @Test
    void aCleanSessionIsCachedAndTheNextRequestUsesItWithoutALookup() throws Exception {
        ScriptedSmtpServer relay = accepting("relay1.test", "250 ok");
        RelayConfig cfg = config("[relay1.test]:25");

        deliver(cfg, "b@ext.test");
        int lookupsAfterFirst = lookups.get();
        DeliveryOutcome second = deliver(cfg, "c@ext.test").get(0);

        assertThat(second.status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(relay.received.stream().filter(l -> l.startsWith("EHLO"))).as("one session for both").hasSize(1);
        assertThat(relay.received).containsSubsequence("RCPT TO:<b@ext.test>", "RCPT TO:<c@ext.test>");
        assertThat(lookups.get()).isEqualTo(lookupsAfterFirst);
    }

    @Test
    void aPolicyThatCannotBeHadDefersWithoutAConnection() throws Exception {
        ScriptedSmtpServer relay = accepting("relay1.test", "250 ok");
        policy = (request, hop, target) -> CompletableFuture.failedFuture(new IllegalStateException("TLSA lookup timed out"));

        DeliveryOutcome out = deliver(config("[relay1.test]:25"), "b@ext.test").get(0);

        assertThat(out.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
        assertThat(out.dsn()).isEqualTo("4.7.5");
        assertThat(out.reason()).isEqualTo("TLS policy for relay1.test[127.0.0.1]:" + relay.port()
                + " is not available: TLSA lookup timed out");
        assertThat(relay.received).isEmpty();
    }
}
