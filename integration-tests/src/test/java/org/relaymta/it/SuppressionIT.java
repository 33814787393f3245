package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * The suppression list end to end: with {@code suppress_hard_bounces = yes} a recipient the
 * upstream refuses as unknown is suppressed; later mail to it bounces at once with {@code 5.1.1 ...
 * suppressed since DATE} and a {@code suppressed} event, without a connection; {@code mta suppress}
 * lists, adds and removes; and two nodes sharing a {@code redis-server} share the list.
 */
class SuppressionIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    private static ScriptedSmtpServer upstream() throws Exception {
        return ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("RCPT TO:<NOBODY@")) {
                return "550 5.1.1 <nobody@ext.test>: Recipient address rejected: User unknown in virtual mailbox table";
            }
            if (cmd.startsWith("RCPT TO:<FULL@")) {
                return "552 5.2.2 mailbox full";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 2.0.0 ok";
        });
    }

    private static String submit(RelayHarness relay, String... rcpts) throws Exception {
        return relay.server.engine().submit("app@one.test", List.of(rcpts),
                "Subject: s\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
    }

    /** Transactions for the application's mail (bounces to it come with MAIL FROM:<>). */
    private static long transactions(ScriptedSmtpServer up) {
        return up.received.stream().filter(l -> l.toUpperCase(Locale.ROOT).startsWith("MAIL FROM:<APP@")).count();
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void aHardBounceSuppressesTheRecipientAndLaterMailBouncesWithoutAConnection() throws Exception {
        try (ScriptedSmtpServer up = upstream();
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())
                     .mainCf("suppress_hard_bounces = yes")) {
            relay.start();
            String first = submit(relay, "Nobody@ext.test", "full@ext.test");
            DeliveryEvent bounced = relay.nextEvent(DeliveryEvent.Status.BOUNCED, WAIT);
            relay.queueEmpty(WAIT);
            assertThat(bounced.queueId()).isEqualTo(first);
            assertThat(relay.server.engine().suppressions().find("nobody@EXT.test")).as("unknown user: suppressed")
                    .hasValueSatisfying(s -> assertThat(s.reason()).isEqualTo("invalid-recipient"));
            assertThat(relay.server.engine().suppressions().find("full@ext.test")).as("a full mailbox is no reason").isEmpty();

            long before = transactions(up);
            relay.events.clear();
            String second = submit(relay, "nobody@ext.test");
            DeliveryEvent suppressed = relay.nextEvent(DeliveryEvent.Status.SUPPRESSED, WAIT);
            assertThat(suppressed.queueId()).isEqualTo(second);
            assertThat(suppressed.dsn()).isEqualTo("5.1.1");
            assertThat(suppressed.reason()).contains("suppressed since " + LocalDate.now(ZoneOffset.UTC));
            assertThat(suppressed.relay()).isEqualTo("none");
            relay.queueEmpty(WAIT);
            await("the bounce to the sender delivered", () -> up.content.stream().anyMatch(l -> l.contains("suppressed since")));
            assertThat(transactions(up) - before).as("no transaction for the suppressed recipient").isZero();
            assertThat(up.received).filteredOn(l -> l.toUpperCase(Locale.ROOT).startsWith("RCPT TO:<NOBODY@")).hasSize(1);

            // The operator's view and hands: mta suppress list / add / remove / export against the running relay.
            Map<String, String> env = Map.of();
            String admin = "127.0.0.1:" + relay.server.adminPort();
            String spool = relay.spoolDir.toString();
            MtaProcessIT.Result list = cli(env, "suppress", "list", "--admin", admin, "--spool-dir", spool);
            assertThat(list.exit()).isZero();
            assertThat(list.stdout()).contains("nobody@ext.test", "invalid-recipient", "1 address suppressed");
            MtaProcessIT.Result add = cli(env, "suppress", "add", "Blocked@Ext.test", "--reason", "complaint",
                    "--admin", admin, "--spool-dir", spool);
            assertThat(add.exit()).isZero();
            assertThat(relay.server.engine().suppressions().find("blocked@ext.test")).isPresent();
            MtaProcessIT.Result removed = cli(env, "suppress", "remove", "nobody@ext.test", "--admin", admin, "--spool-dir", spool);
            assertThat(removed.exit()).isZero();
            MtaProcessIT.Result again = cli(env, "suppress", "remove", "nobody@ext.test", "--admin", admin, "--spool-dir", spool);
            assertThat(again.exit()).as("not suppressed any more").isEqualTo(1);
            MtaProcessIT.Result export = cli(env, "suppress", "export", "--admin", admin, "--spool-dir", spool);
            assertThat(export.stdout().strip().lines()).singleElement().asString()
                    .contains("\"address\": \"blocked@ext.test\"", "\"reason\": \"complaint\"");
            HttpResponse<String> anonymous = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://" + admin + "/suppressions")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).as("the list needs the admin token").isEqualTo(401);

            relay.events.clear();
            submit(relay, "nobody@ext.test");
            assertThat(relay.nextEvent(DeliveryEvent.Status.BOUNCED, WAIT).relay()).as("tried again once removed")
                    .startsWith("127.0.0.1");
        }
    }

    @Test
    void twoNodesShareOneSuppressionListThroughRedis() throws Exception {
        try (RedisServer redis = RedisServer.start(Files.createDirectories(temp.resolve("redis"))); ScriptedSmtpServer up = upstream();
             RelayHarness a = new RelayHarness(temp.resolve("a")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())
                     .env("MTA_REDIS_URL", "redis://127.0.0.1:" + redis.port).mainCf("suppress_hard_bounces = yes");
             RelayHarness b = new RelayHarness(temp.resolve("b")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())
                     .env("MTA_REDIS_URL", "redis://127.0.0.1:" + redis.port).mainCf("suppress_hard_bounces = yes")) {
            a.start();
            b.start();
            submit(a, "nobody@ext.test");
            a.nextEvent(DeliveryEvent.Status.BOUNCED, WAIT);
            await("node b learns of a's suppression", () -> b.server.engine().suppressions().find("nobody@ext.test").isPresent());
            long before = up.received.stream().filter(l -> l.toUpperCase(Locale.ROOT).startsWith("RCPT TO:<NOBODY@")).count();
            submit(b, "nobody@ext.test");
            assertThat(b.nextEvent(DeliveryEvent.Status.SUPPRESSED, WAIT).reason()).contains("suppressed since");
            b.server.engine().suppressions().remove("nobody@ext.test");
            await("node a learns of b's removal", () -> a.server.engine().suppressions().find("nobody@ext.test").isEmpty());
            assertThat(up.received.stream().filter(l -> l.toUpperCase(Locale.ROOT).startsWith("RCPT TO:<NOBODY@")).count())
                    .isEqualTo(before);

            // A node that starts later reads the whole list from Redis.
            a.server.engine().suppressions().add("late@ext.test", "operator");
            try (RelayHarness c = new RelayHarness(temp.resolve("c")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())
                    .env("MTA_REDIS_URL", "redis://127.0.0.1:" + redis.port)) {
                c.start();
                await("node c has the list", () -> c.server.engine().suppressions().find("late@ext.test").isPresent());
            }
        }
    }

    private MtaProcessIT.Result cli(Map<String, String> env, String... args) throws Exception {
        Path output = Files.createTempFile(temp, "cli", ".out");
        Process p = MtaProcessIT.mta(temp, env, args).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mta " + String.join(" ", args) + " still running after 30 s");
        }
        return new MtaProcessIT.Result(p.exitValue(), Files.readString(output));
    }
}
