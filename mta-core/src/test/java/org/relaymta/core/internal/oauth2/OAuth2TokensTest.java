package org.relaymta.core.internal.oauth2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.testing.MovedClock;

/** Against a token endpoint in the test (the JDK's HttpServer): requests, rotation, errors, the service-account JWT. */
class OAuth2TokensTest {
    @TempDir
    Path dir;
    private HttpServer server;
    private final List<Map<String, String>> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger issued = new AtomicInteger();
    private volatile int status = 200;
    private volatile String reply;
    private final MovedClock clock = new MovedClock();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/token", exchange -> {
            Map<String, String> form = new HashMap<>();
            for (String pair : new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
                int eq = pair.indexOf('=');
                form.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
            requests.add(form);
            try {
                Thread.sleep(100);
            } catch (InterruptedException ignored) {
                // answer now
            }
            int n = issued.incrementAndGet();
            String body = reply != null ? reply : "{\"access_token\":\"token-" + n + "\",\"expires_in\":100,"
                    + "\"refresh_token\":\"refresh-" + n + "\",\"token_type\":\"Bearer\"}";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private final AtomicReference<RelayConfig> current = new AtomicReference<>();

    /** Tokens over the configuration of these lines; calling it again reloads that configuration. */
    private OAuth2Tokens tokens(String... profileLines) throws Exception {
        reload(profileLines);
        return new OAuth2Tokens(current::get, clock);
    }

    private void reload(String... profileLines) throws Exception {
        Files.write(dir.resolve("oauth2-clients.cf"), List.of(profileLines));
        current.set(new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[relay.test]:587")), dir).load());
    }

    @Test
    void aReloadThatChangesTheProfileDropsItsCachedToken() throws Exception {
        OAuth2Tokens t = tokens("app.provider = generic", "app.token_url = " + url(), "app.client_id = id",
                "app.client_secret = old-secret");
        assertThat(t.token("app").get().value()).isEqualTo("token-1");
        reload("app.provider = generic", "app.token_url = " + url(), "app.client_id = id", "app.client_secret = old-secret");
        assertThat(t.token("app").get().value()).as("the same profile: the token stays").isEqualTo("token-1");
        reload("app.provider = generic", "app.token_url = " + url(), "app.client_id = id", "app.client_secret = new-secret");
        assertThat(t.token("app").get().value()).as("another secret: a new token").isEqualTo("token-2");
        assertThat(requests.get(1)).containsEntry("client_secret", "new-secret");
    }

    private String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    @Test
    void oneRequestForManyAskersThenCachedUntilEightyPercentOfItsLife() throws Exception {
        OAuth2Tokens t = tokens("app.provider = generic", "app.token_url = " + url(), "app.client_id = id",
                "app.client_secret = hunter2", "app.scope = smtp");
        List<CompletableFuture<AccessToken>> asked = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            asked.add(t.token("app"));
        }
        for (CompletableFuture<AccessToken> f : asked) {
            assertThat(f.get().value()).isEqualTo("token-1");
        }
        assertThat(requests).hasSize(1);
        assertThat(requests.get(0)).containsEntry("grant_type", "client_credentials").containsEntry("client_id", "id")
                .containsEntry("client_secret", "hunter2").containsEntry("scope", "smtp");
        assertThat(t.current("app")).isEqualTo("token-1");
        clock.advance(Duration.ofSeconds(79));
        assertThat(t.token("app").get().value()).as("still fresh at 79% of 100 s").isEqualTo("token-1");
        clock.advance(Duration.ofSeconds(2));
        assertThat(t.token("app").get().value()).as("refreshed ahead of expiry").isEqualTo("token-2");
        t.invalidate("app", "token-2");
        assertThat(t.current("app")).isNull();
        assertThat(t.token("app").get().value()).isEqualTo("token-3");
        assertThat(t.token("app").get().toString()).doesNotContain("token-3");
    }

    @Test
    void aRotatedRefreshTokenIsSavedOwnerOnlyBeforeItIsUsed() throws Exception {
        Path file = dir.resolve("m365.token");
        Files.writeString(file, "refresh-0\n");
        OAuth2Tokens t = tokens("m365.provider = microsoft", "m365.tenant = contoso.com", "m365.token_url = " + url(),
                "m365.client_id = id", "m365.refresh_token_file = m365.token");
        assertThat(t.token("m365").get().value()).isEqualTo("token-1");
        assertThat(requests.get(0)).containsEntry("grant_type", "refresh_token").containsEntry("refresh_token", "refresh-0")
                .containsEntry("scope", "https://outlook.office.com/SMTP.Send offline_access");
        assertThat(Files.readString(file).strip()).isEqualTo("refresh-1");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        clock.advance(Duration.ofSeconds(90));
        assertThat(t.token("m365").get().value()).isEqualTo("token-2");
        assertThat(requests.get(1)).containsEntry("refresh_token", "refresh-1");
    }

    @Test
    void aRefusalNamesTheEndpointAndItsErrorNeverTheSecret() throws Exception {
        OAuth2Tokens t = tokens("app.provider = generic", "app.token_url = " + url() + "?key=abc", "app.client_id = id",
                "app.client_secret = hunter2");
        status = 401;
        reply = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}";
        assertThatThrownBy(() -> t.token("app").join()).hasRootCauseInstanceOf(OAuth2Exception.class)
                .rootCause().hasMessage("OAuth2 profile app: token endpoint " + url() + " refused: invalid_client");
        status = 200;
        reply = null;
        assertThat(t.token("app").get().value()).as("the next ask tries again").startsWith("token-");
    }

    @Test
    void warningsForFailingRequestsAMissingRefreshTokenAndOneNearItsEnd() throws Exception {
        Path token = dir.resolve("m365.token");
        Files.writeString(token, "refresh-0\n");
        Files.setLastModifiedTime(token, FileTime.from(clock.instant().minus(Duration.ofDays(84))));
        OAuth2Tokens t = tokens("app.provider = generic", "app.token_url = " + url(), "app.client_id = id",
                "app.client_secret = hunter2",
                "m365.provider = microsoft", "m365.tenant = t", "m365.token_url = " + url(), "m365.client_id = id",
                "m365.refresh_token_file = m365.token",
                "gone.provider = microsoft", "gone.tenant = t", "gone.client_id = id", "gone.refresh_token_file = gone.token");
        assertThat(t.warnings()).containsExactlyInAnyOrder(
                "oauth2 profile m365: the refresh token ends around " + clock.instant().plus(Duration.ofDays(6))
                        + " unless it is used (send mail, or run: mta oauth2 token m365)",
                "oauth2 profile gone: no refresh token in " + dir.resolve("gone.token") + " (run: mta oauth2 login gone)");
        status = 401;
        reply = "{\"error\":\"invalid_client\"}";
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> t.token("app").join()).isNotNull();
        }
        assertThat(t.warnings()).contains("oauth2 profile app: 3 token requests failed in a row (last: invalid_client)")
                .noneMatch(w -> w.contains("hunter2"));
        status = 200;
        reply = null;
        t.token("app").get();
        t.token("m365").get();
        assertThat(t.warnings()).as("a success clears the failures; the used refresh token was renewed")
                .containsExactly("oauth2 profile gone: no refresh token in " + dir.resolve("gone.token")
                        + " (run: mta oauth2 login gone)");
    }

    @Test
    void aServiceAccountAssertionVerifiesWithItsPublicKey() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        KeyPair keys = gen.generateKeyPair();
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(keys.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        Files.writeString(dir.resolve("sa.json"), "{\"type\":\"service_account\",\"client_email\":\"relay@p.iam.gserviceaccount.com\","
                + "\"private_key\":" + Json.string(pem) + "}");
        OAuth2Tokens t = tokens("robot.provider = google-service-account", "robot.service_account_file = sa.json",
                "robot.subject = boss@example.com", "robot.token_url = " + url());
        assertThat(t.token("robot").get().value()).isEqualTo("token-1");
        Map<String, String> form = requests.get(0);
        assertThat(form).containsEntry("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
        String[] jwt = form.get("assertion").split("\\.");
        Signature verify = Signature.getInstance("SHA256withRSA");
        verify.initVerify(keys.getPublic());
        verify.update((jwt[0] + "." + jwt[1]).getBytes(StandardCharsets.US_ASCII));
        assertThat(verify.verify(Base64.getUrlDecoder().decode(jwt[2]))).isTrue();
        Map<String, Object> header = Json.members(Json.object(new String(Base64.getUrlDecoder().decode(jwt[0]), StandardCharsets.UTF_8)));
        Map<String, Object> claims = Json.members(Json.object(new String(Base64.getUrlDecoder().decode(jwt[1]), StandardCharsets.UTF_8)));
        assertThat(header).containsEntry("alg", "RS256");
        assertThat(claims).containsEntry("iss", "relay@p.iam.gserviceaccount.com").containsEntry("sub", "boss@example.com")
                .containsEntry("scope", "https://mail.google.com/").containsEntry("aud", url());
        assertThat(((Number) claims.get("exp")).longValue() - ((Number) claims.get("iat")).longValue()).isEqualTo(3600L);
    }
}
