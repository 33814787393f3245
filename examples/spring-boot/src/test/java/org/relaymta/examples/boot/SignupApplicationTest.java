package org.relaymta.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.Version;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.relaymta.core.RelayEngine;
import org.relaymta.test.CapturedMessage;
import org.relaymta.test.TestUpstream;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.mail.javamail.JavaMailSender;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The application as its users run it: a real Spring Boot context and web server, mail sent
 * through {@link JavaMailSender} by an HTTP request, arriving at a capturing smarthost through the
 * relay; Actuator health and the application's Micrometer registry show the relay. The same test runs on Spring Boot 3.5 (Netty 4.1) and 4.0 (Netty 4.2).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class SignupApplicationTest {

    @RegisterExtension
    static TestUpstream smarthost = new TestUpstream();

    static Path spool;

    @DynamicPropertySource
    static void relay(DynamicPropertyRegistry registry) throws Exception {
        spool = Files.createTempDirectory("boot-relay-spool");
        registry.add("relaymta.spool-dir", spool::toString);
        registry.add("relaymta.default-relay-host", smarthost::relayHost);
        registry.add("relaymta.hostname", () -> "app.example");
    }

    @Value("${local.server.port}")
    int port;

    @Autowired
    JavaMailSender mailSender;

    @Autowired
    RelayEngine relay;

    @Autowired
    MeterRegistry meters;

    private String http(String method, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return response.body();
    }

    @Test
    void mailSentThroughJavaMailSenderArrivesAtTheSmarthostThroughTheRelay() throws Exception {
        assertThat(mailSender.getClass().getName()).isEqualTo("org.springframework.mail.javamail.JavaMailSenderImpl");
        assertThat(http("POST", "/signup?email=alice@example.org")).isEqualTo("queued");

        List<CapturedMessage> received = smarthost.awaitMessages(1, Duration.ofSeconds(20));
        assertThat(received.get(0).recipient()).isEqualTo("alice@example.org");
        assertThat(received.get(0).sender()).isEqualTo("welcome@app.example");
        assertThat(received.get(0).subject()).isEqualTo("Welcome aboard");
        assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(10))).isTrue();

        // The relay's meters are in the application's registry, next to Spring's own.
        assertThat(meters.get("mta.messages.received").counter().count()).isEqualTo(1.0);

        String health = http("GET", "/actuator/health");
        String relayHealth = component(health, "relayMta");
        assertThat(relayHealth).contains("\"status\":\"UP\"").contains("\"queued\":0").contains(spool.toString());

        // The application's own Netty line is the one its Boot BOM chose, and the relay runs on it.
        String netty = Version.identify().get("netty-transport").artifactVersion();
        assertThat(netty).startsWith(System.getProperty("expected.netty.line", "4."));
    }

    /** The JSON object of one health component (Boot 3 and 4 order its fields differently). */
    private static String component(String health, String name) {
        int start = health.indexOf("\"" + name + "\":{");
        assertThat(start).as(health).isNotNegative();
        int depth = 0;
        for (int i = health.indexOf('{', start); i < health.length(); i++) {
            char c = health.charAt(i);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (depth == 0) {
                return health.substring(start, i + 1);
            }
        }
        throw new AssertionError("unterminated component " + name + " in " + health);
    }
}
