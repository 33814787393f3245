package org.relaymta.server.oauth2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.OAuth2Profile;
import org.relaymta.core.internal.oauth2.OAuth2Exception;
import org.relaymta.core.internal.oauth2.TokenEndpoint;

/** The device code flow against endpoints in the test: pending, slow down, then the refresh token saved. */
class DeviceLoginTest {
    @TempDir
    Path dir;
    private HttpServer server;
    private final AtomicInteger polls = new AtomicInteger();
    private final List<Map<String, String>> tokenForms = new ArrayList<>();
    private volatile String finalAnswer = "{\"access_token\":\"at\",\"refresh_token\":\"first-refresh\",\"expires_in\":3600}";

    private static Map<String, String> form(byte[] body) {
        Map<String, String> form = new HashMap<>();
        for (String pair : new String(body, StandardCharsets.UTF_8).split("&")) {
            int eq = pair.indexOf('=');
            form.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return form;
    }

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/tenant/oauth2/v2.0/devicecode", ex -> {
            Map<String, String> f = form(ex.getRequestBody().readAllBytes());
            String body = f.get("client_id").equals("app") && f.get("scope").contains("SMTP.Send")
                    ? "{\"device_code\":\"DC\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":\"https://microsoft.com/devicelogin\","
                    + "\"expires_in\":900,\"interval\":1,\"message\":\"To sign in, use a web browser to open the page "
                    + "https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.\"}"
                    : "{\"error\":\"invalid_client\"}";
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.createContext("/tenant/oauth2/v2.0/token", ex -> {
            Map<String, String> f = form(ex.getRequestBody().readAllBytes());
            tokenForms.add(f);
            int n = polls.incrementAndGet();
            String body = n == 1 ? "{\"error\":\"authorization_pending\"}" : n == 2 ? "{\"error\":\"slow_down\"}" : finalAnswer;
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(n < 3 ? 400 : 200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private OAuth2Profile profile() throws Exception {
        Files.write(dir.resolve("oauth2-clients.cf"), List.of("me.provider = microsoft", "me.tenant = tenant",
                "me.client_id = app", "me.refresh_token_file = me.token",
                "me.token_url = http://127.0.0.1:" + server.getAddress().getPort() + "/tenant/oauth2/v2.0/token"));
        return new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[r.test]:587")), dir).load().routing().oauth2Profiles().get("me");
    }

    @Test
    void pollsThroughPendingAndSlowDownThenSavesTheRefreshTokenOwnerOnly() throws Exception {
        List<Duration> slept = new ArrayList<>();
        List<DeviceLogin.Prompt> shown = new ArrayList<>();
        long lifetime = new DeviceLogin(HttpClient.newHttpClient(), slept::add).login(profile(), shown::add);
        assertThat(lifetime).isEqualTo(3600);
        assertThat(shown).hasSize(1);
        assertThat(shown.get(0).userCode()).isEqualTo("ABCD-EFGH");
        assertThat(shown.get(0).message()).contains("https://microsoft.com/devicelogin");
        assertThat(slept).as("interval, interval, then 5 s more after slow_down")
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(6));
        assertThat(tokenForms.get(0)).containsEntry("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
                .containsEntry("device_code", "DC").containsEntry("client_id", "app");
        Path token = dir.resolve("me.token");
        assertThat(Files.readString(token).strip()).isEqualTo("first-refresh");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token))).isEqualTo("rw-------");
    }

    @Test
    void aDeclinedSignInSaysSoAndSavesNothing() throws Exception {
        finalAnswer = "{\"error\":\"access_denied\",\"error_description\":\"The user declined\"}";
        assertThatThrownBy(() -> new DeviceLogin(HttpClient.newHttpClient(), d -> { })
                .login(profile(), p -> { })).hasMessage("profile me: sign-in did not complete: access_denied");
        assertThat(dir.resolve("me.token")).doesNotExist();
    }
}
