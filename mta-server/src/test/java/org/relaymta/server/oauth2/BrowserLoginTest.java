package org.relaymta.server.oauth2;

import org.relaymta.core.internal.oauth2.OAuth2Exception;
import org.relaymta.core.internal.oauth2.TokenEndpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.OAuth2Profile;

/** The loopback-redirect sign-in with the test as the browser: state, PKCE, the code exchange, the token saved. */
class BrowserLoginTest {
    @TempDir
    Path dir;
    private HttpServer server;
    private final AtomicReference<Map<String, String>> exchanged = new AtomicReference<>();
    private final AtomicInteger browserStatus = new AtomicInteger();

    private static Map<String, String> parse(String raw) {
        Map<String, String> m = new HashMap<>();
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            m.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return m;
    }

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/token", ex -> {
            exchanged.set(parse(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            byte[] b = "{\"access_token\":\"at\",\"refresh_token\":\"google-refresh\",\"expires_in\":3599}"
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
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
        Files.write(dir.resolve("oauth2-clients.cf"), List.of("gmail.provider = google", "gmail.client_id = id.apps",
                "gmail.client_secret = g-secret", "gmail.refresh_token_file = gmail.token",
                "gmail.token_url = http://127.0.0.1:" + server.getAddress().getPort() + "/token",
                "gmail.auth_url = https://accounts.example.test/auth"));
        return new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[r.test]:587")), dir).load().routing().oauth2Profiles().get("gmail");
    }

    /** The browser: follows the redirect the provider would send, with {@code code} and the given state. */
    private void browse(String signInUrl, String code, boolean rightState) {
        URI uri = URI.create(signInUrl);
        Map<String, String> q = parse(uri.getRawQuery());
        String state = rightState ? q.get("state") : "forged";
        new Thread(() -> {
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        q.get("redirect_uri") + "?code=" + code + "&state=" + state)).build(), HttpResponse.BodyHandlers.ofString());
                browserStatus.set(r.statusCode());
            } catch (Exception e) {
                browserStatus.set(-1);
            }
        }).start();
    }

    @Test
    void theCodeComesBackToTheLoopbackAndIsExchangedWithItsVerifier() throws Exception {
        AtomicReference<String> shown = new AtomicReference<>();
        new BrowserLogin().login(profile(), url -> {
            shown.set(url);
            browse(url, "C1", true);
        }, Duration.ofSeconds(10));
        Map<String, String> q = parse(URI.create(shown.get()).getRawQuery());
        assertThat(shown.get()).startsWith("https://accounts.example.test/auth?");
        assertThat(q).containsEntry("client_id", "id.apps").containsEntry("scope", "https://mail.google.com/")
                .containsEntry("response_type", "code").containsEntry("access_type", "offline")
                .containsEntry("code_challenge_method", "S256");
        assertThat(q.get("redirect_uri")).startsWith("http://127.0.0.1:");
        Map<String, String> form = exchanged.get();
        assertThat(form).containsEntry("grant_type", "authorization_code").containsEntry("code", "C1")
                .containsEntry("client_secret", "g-secret").containsEntry("redirect_uri", q.get("redirect_uri"));
        String challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(form.get("code_verifier").getBytes(StandardCharsets.US_ASCII)));
        assertThat(challenge).as("PKCE: the verifier matches the challenge shown").isEqualTo(q.get("code_challenge"));
        assertThat(Files.readString(dir.resolve("gmail.token")).strip()).isEqualTo("google-refresh");
        assertThat(browserStatus).hasValue(200);
    }

    @Test
    void aRedirectWithAnotherStateIsNotTaken() throws Exception {
        assertThatThrownBy(() -> new BrowserLogin().login(profile(), url -> browse(url, "C1", false), Duration.ofSeconds(2)))
                .hasMessage("profile gmail: no sign-in within 2 s");
        assertThat(exchanged.get()).isNull();
        assertThat(dir.resolve("gmail.token")).doesNotExist();
    }
}
