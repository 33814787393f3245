package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.relaymta.core.event.DeliveryEvent;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.TestCertificates;

/**
 * Delivery events to webhooks, end to end: a real relay delivers to a scripted upstream and POSTs
 * its events to a receiver written here, which checks every batch's signature. Over HTTPS the
 * receiver's certificate is verified; a filter keeps the event types asked for; a receiver that is
 * down gets everything once it is back (and {@code /health} says it failed meanwhile); a batch it
 * refuses for good is dropped after three tries, counted, and later events flow again.
 */
class WebhookIT {
    private static final String KEY = "whsec-test-key-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path temp;

    private static ScriptedSmtpServer upstream() throws Exception {
        return ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            if (cmd.startsWith("EHLO")) {
                return "250-scripted.test\n250 ENHANCEDSTATUSCODES";
            }
            if (cmd.startsWith("RCPT TO:<NOBODY@")) {
                return "550 5.1.1 <nobody@ext.test>: Recipient address rejected: User unknown";
            }
            if (cmd.startsWith("RCPT TO:<LATER@")) {
                return "451 4.3.0 try again later";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 2.0.0 ok";
        });
    }

    private RelayHarness relay(int upstreamPort, String hooks) throws Exception {
        Files.writeString(temp.resolve("config-secret"), KEY + "\n");
        RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort);
        Files.move(temp.resolve("config-secret"), relay.configDir.resolve("webhook.key"));
        return relay.mainCf("event_webhooks = " + hooks).mainCf("event_webhook_secret_file = webhook.key")
                .mainCf("event_retry_maximum = 2s");
    }

    private static String submit(RelayHarness relay, String... rcpts) throws Exception {
        return relay.server.engine().submit("app@one.test", List.of(rcpts),
                "Subject: hook\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void signedBatchesOverVerifiedHttpsOnlyOfTheEventsAskedFor() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned("localhost");
        try (ScriptedSmtpServer up = upstream(); WebhookReceiver receiver = WebhookReceiver.https(KEY, pki.serverContext())) {
            try (RelayHarness relay = relay(up.port(), "https://localhost:" + receiver.port()
                    + "/hooks/relay?token=q-s3cret events=delivered,bounced")) {
                Files.writeString(relay.configDir.resolve("test-ca.pem"), pki.caPem());
                relay.mainCf("smtp_tls_CAfile = test-ca.pem").start();
                String id = submit(relay, "ok@ext.test", "nobody@ext.test", "later@ext.test");
                await("delivered and bounced at the receiver", () -> receiver.events.stream()
                        .filter(e -> e.get("queue_id").getAsString().equals(id)).count() >= 2);
                relay.nextEvent(DeliveryEvent.Status.DEFERRED, WAIT);   // the deferral happened too
                relay.server.engine().awaitListeners(WAIT);
                Thread.sleep(300);   // a deferred event, were it sent, would have come by now

                assertThat(receiver.badSignatures).hasValue(0);
                assertThat(receiver.lastSignature).matches("t=\\d{10},v1=[0-9a-f]{64}");
                assertThat(receiver.requests).allMatch(r -> r.equals("POST /hooks/relay?token=q-s3cret"));
                assertThat(receiver.events).extracting(e -> e.get("event").getAsString()).containsOnly("delivered", "bounced");
                JsonObject delivered = receiver.eventsFor("ok@ext.test").get(0);
                assertThat(delivered.get("event").getAsString()).isEqualTo("delivered");
                assertThat(delivered.get("version").getAsInt()).isEqualTo(1);
                assertThat(delivered.get("reply_code").getAsInt()).isEqualTo(250);
                JsonObject bounced = receiver.eventsFor("nobody@ext.test").get(0);
                assertThat(bounced.get("class").getAsString()).isEqualTo("invalid-recipient");
                assertThat(receiver.eventsFor("later@ext.test")).isEmpty();
                assertThat(relay.server.health().json() + relay.server.scrapeMetrics()).doesNotContain("q-s3cret")
                        .contains("webhook https://localhost:" + receiver.port() + "/hooks/relay?...");
            }
        }
    }

    @Test
    void aReceiverThatWasDownGetsEveryEventOnceItIsBack() throws Exception {
        MovedClock clock = new MovedClock();
        try (ScriptedSmtpServer up = upstream(); WebhookReceiver receiver = WebhookReceiver.http(KEY)) {
            receiver.answer.set(503);
            try (RelayHarness relay = relay(up.port(), "http://127.0.0.1:" + receiver.port() + "/events")) {
                relay.clock(clock).start();
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    ids.add(submit(relay, "r" + i + "@ext.test"));
                }
                await("the receiver refused a few tries", () -> receiver.requests.size() >= 2);
                clock.advance(Duration.ofMinutes(6));
                await("/health reports the failing sink", () -> relay.server.health().json().contains("has failed since"));
                JsonObject health = JsonParser.parseString(relay.server.health().json()).getAsJsonObject();
                assertThat(health.get("status").getAsString()).isEqualTo("degraded");
                JsonObject sink = health.getAsJsonArray("event_sinks").get(0).getAsJsonObject();
                assertThat(sink.get("lag").getAsLong()).isGreaterThanOrEqualTo(20);
                assertThat(sink.get("last_error").getAsString()).isEqualTo("HTTP 503");
                assertThat(receiver.events).isEmpty();

                receiver.answer.set(200);
                await("every message's delivered event arrived", () -> ids.stream().allMatch(id -> receiver.events.stream()
                        .anyMatch(e -> e.get("queue_id").getAsString().equals(id) && e.get("event").getAsString().equals("delivered"))));
                await("/health is ok again", () -> relay.server.health().json().replace(" ", "").contains("\"status\":\"ok\""));
                assertThat(receiver.badSignatures).hasValue(0);
                String metrics = relay.server.scrapeMetrics();
                assertThat(metrics).containsPattern("mta_event_sink_failures_total\\{sink=\"webhook http://127.0.0.1:\\d+/events\"} [1-9]");
                assertThat(metrics).containsPattern("mta_event_sink_events_total\\{outcome=\"delivered\",sink=\"[^\"]+\"} [2-9][0-9]");
                assertThat(metrics).contains("mta_event_outbox_bytes");

                // Every event the receiver got, received ones included, is valid against the published schema.
                Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                        .getSchema(Files.readString(Path.of("../docs/event-schema.json")));
                assertThat(receiver.events).extracting(e -> e.get("event").getAsString()).contains("received", "delivered");
                for (JsonObject e : receiver.events) {
                    assertThat(schema.validate(new ObjectMapper().readTree(e.toString()))).as(e.toString()).isEmpty();
                }
                for (String id : ids) {
                    List<String> kinds = receiver.events.stream().filter(e -> e.get("queue_id").getAsString().equals(id))
                            .map(e -> e.get("event").getAsString()).toList();
                    assertThat(kinds).as("a message's events in order").containsExactly("received", "delivered");
                }
            }
        }
    }

    @Test
    void aBatchRefusedForGoodIsDroppedAfterThreeTriesAndLaterEventsFlow() throws Exception {
        try (ScriptedSmtpServer up = upstream(); WebhookReceiver receiver = WebhookReceiver.http(KEY)) {
            receiver.answer.set(400);
            try (RelayHarness relay = relay(up.port(), "http://127.0.0.1:" + receiver.port() + "/events events=delivered")) {
                relay.start();
                String first = submit(relay, "a@ext.test");
                await("three refusals", () -> receiver.requests.size() >= 3);
                await("the refused batch dropped", () -> relay.server.scrapeMetrics()
                        .matches("(?s).*mta_event_sink_events_total\\{outcome=\"dropped\",sink=\"[^\"]+\"} [1-9].*"));
                assertThat(receiver.requests).hasSize(3);
                receiver.answer.set(200);
                String second = submit(relay, "b@ext.test");
                await("the next event arrived", () -> receiver.events.stream()
                        .anyMatch(e -> e.get("queue_id").getAsString().equals(second)));
                assertThat(receiver.events).noneMatch(e -> e.get("queue_id").getAsString().equals(first));
                assertThat(relay.server.health().json()).contains("refused and dropped 1 events");
            }
        }
    }
}
