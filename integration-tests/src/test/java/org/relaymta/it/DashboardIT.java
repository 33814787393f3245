package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * The admin endpoint's dashboard in Debian's headless Chromium, as a person uses it: the numbers it
 * shows are those of /metrics, and with the token it lists the queue and holds and releases a message.
 */
class DashboardIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path temp;

    private static String get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static long metric(String metrics, String pattern) {
        Matcher m = Pattern.compile("(?m)^" + pattern + " ([0-9.]+)$").matcher(metrics);
        long sum = 0;
        while (m.find()) {
            sum += (long) Double.parseDouble(m.group(1));
        }
        return sum;
    }

    @Test
    void theDashboardShowsWhatMetricsSayAndHoldsAndReleasesAMessage() throws Exception {
        assumeTrue(HeadlessChromium.available(), "Debian's chromium is needed; .ci/run installs it");
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 ok");
             RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())) {
            Files.write(relay.configDir.resolve("postfix-transport.cf"), List.of("later.test retry:4.3.2 down for maintenance",
                    "gone.test error:5.1.1 user unknown"));
            relay.start();
            // The null sender for the one that bounces: no bounce report to count as sent.
            relay.server.engine().submit("", List.of("nobody@gone.test"), ("Subject: dash\r\n\r\nx\r\n")
                    .getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            for (String rcpt : List.of("a@ext.test", "b@ext.test", "waits@later.test")) {
                relay.server.engine().submit("app@one.test", List.of(rcpt), ("Subject: dash\r\n\r\nx\r\n")
                        .getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            }
            relay.nextEvent(DeliveryEvent.Status.DEFERRED, WAIT);
            int admin = relay.server.adminPort();
            await().atMost(WAIT).until(() -> metric(get(admin, "/metrics"), "mta_deliveries_total\\{[^}]*status=\"sent\"[^}]*\\}") == 2
                    && relay.server.engine().queue().size() == 1
                    && metric(get(admin, "/metrics"), "mta_deliveries_total\\{[^}]*status=\"bounced\"[^}]*\\}") == 1);
            String waiting = relay.server.engine().queue().messages().get(0).id();
            String token = Files.readString(relay.spoolDir.resolve("admin.token")).strip();
            String metrics = get(admin, "/metrics");
            long sent = metric(metrics, "mta_deliveries_total\\{[^}]*status=\"sent\"[^}]*\\}");
            long deferredQueue = metric(metrics, "mta_queue_messages\\{queue=\"deferred\",?\\}");
            assertThat(sent).isEqualTo(2);

            try (HeadlessChromium chromium = new HeadlessChromium(temp.resolve("chromium"))) {
                chromium.open("http://127.0.0.1:" + admin + "/");
                chromium.await("document.body.dataset.loaded === 'yes'", WAIT);
                assertThat(chromium.text("#sent-total")).isEqualTo(String.valueOf(sent));
                assertThat(chromium.text("#queue-deferred")).isEqualTo(String.valueOf(deferredQueue));
                assertThat(chromium.text("#status")).isEqualTo("ok");
                // The bounce, by its class.
                assertThat(chromium.eval("[...document.querySelectorAll('#bounces tbody tr')]"
                        + ".map(tr => tr.cells[0].textContent + '|' + tr.cells[2].textContent + '|' + tr.cells[3].textContent).join(';')")
                        .getAsString()).isEqualTo("invalid-recipient|bounced|1");

                chromium.eval("document.getElementById('token').value = '" + token + "'; "
                        + "document.getElementById('load-queue').click(); true");
                chromium.await("document.querySelector('.action-hold[data-id=\"" + waiting + "\"]')", WAIT);
                // The queue by destination: the one waiting recipient, deferred, at later.test.
                assertThat(chromium.eval("[...document.querySelectorAll('#destinations tbody tr')]"
                        + ".map(tr => [...tr.cells].map(c => c.textContent).join('|')).join(';')").getAsString())
                        .isEqualTo("later.test|0|1|0");
                chromium.eval("document.querySelector('.action-hold[data-id=\"" + waiting + "\"]').click(); true");
                chromium.await("document.querySelector('.action-release[data-id=\"" + waiting + "\"]')", WAIT);
                assertThat(relay.server.engine().queue().messages().get(0).state().name()).isEqualTo("HOLD");
                chromium.await("document.getElementById('queue-hold').textContent === '1'", WAIT);

                chromium.eval("document.querySelector('.action-release[data-id=\"" + waiting + "\"]').click(); true");
                chromium.await("document.querySelector('.action-hold[data-id=\"" + waiting + "\"]')", WAIT);
                assertThat(relay.server.engine().queue().messages().get(0).state().name()).isNotEqualTo("HOLD");

                // A wrong token gets the relay's refusal, shown on the page.
                chromium.eval("document.getElementById('token').value = 'wrong'; document.getElementById('load-queue').click(); true");
                chromium.await("document.getElementById('queue-error').textContent.includes('401')", WAIT);
            }
        }
    }
}
