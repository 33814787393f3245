package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.MovedClock;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestCertificates;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler.SessionAcceptance;
import org.subethamail.smtp.server.SessionHandler;
import org.subethamail.wiser.Wiser;

/**
 * OAuth2 relay authentication over real sockets, no internet: a token endpoint in the test (the
 * JDK's HttpServer) and an upstream (SubEthaSMTP) that offers STARTTLS and XOAUTH2 and accepts
 * only tokens the endpoint issued and has not revoked, answering the error challenge otherwise.
 */
class OAuth2RelayIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;
    private HttpServer endpoint;
    private Wiser upstream;
    private final AtomicInteger tokenRequests = new AtomicInteger();
    /** Sessions open at the upstream: the relay's cached ones included. */
    private final AtomicInteger upstreamSessions = new AtomicInteger();
    private final AtomicInteger devicePolls = new AtomicInteger();
    private final Set<String> liveTokens = ConcurrentHashMap.newKeySet();
    private final Set<String> authenticatedWith = ConcurrentHashMap.newKeySet();
    private volatile String acceptedSecret = "good-secret";
    /** The one refresh token the endpoint accepts now: each use rotates it, as Microsoft's do. */
    private volatile String currentRefresh = "refresh-0";
    private final MovedClock clock = new MovedClock(Instant.now());
    /** What the upstream offers: XOAUTH2 (Microsoft, Google) or only OAUTHBEARER (RFC 7628). */
    private volatile String mechanism = "XOAUTH2";

    @BeforeEach
    void start() throws Exception {
        endpoint = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        endpoint.createContext("/devicecode", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] bytes = ("{\"device_code\":\"DC\",\"user_code\":\"WXYZ-1234\",\"verification_uri\":"
                    + "\"https://microsoft.com/devicelogin\",\"expires_in\":60,\"interval\":0}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        endpoint.createContext("/token", exchange -> {
            Map<String, String> form = new HashMap<>();
            for (String pair : new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
                int eq = pair.indexOf('=');
                form.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
            tokenRequests.incrementAndGet();
            String body;
            int status;
            if ("urn:ietf:params:oauth:grant-type:device_code".equals(form.get("grant_type"))) {
                boolean first = devicePolls.getAndIncrement() == 0;
                body = first ? "{\"error\":\"authorization_pending\"}"
                        : "{\"access_token\":\"tok-d\",\"refresh_token\":\"refresh-0\",\"expires_in\":100}";
                status = first ? 400 : 200;
            } else if ("refresh_token".equals(form.get("grant_type"))) {
                if (form.get("refresh_token").equals(currentRefresh)) {
                    String token = "tok-" + tokenRequests.get();
                    liveTokens.add(token);
                    currentRefresh = "refresh-" + tokenRequests.get();
                    body = "{\"access_token\":\"" + token + "\",\"expires_in\":100,\"refresh_token\":\"" + currentRefresh
                            + "\"}";
                    status = 200;
                } else {
                    body = "{\"error\":\"invalid_grant\"}";
                    status = 400;
                }
            } else if (acceptedSecret.equals(form.get("client_secret"))) {
                String token = "tok-" + tokenRequests.get();
                liveTokens.add(token);
                body = "{\"access_token\":\"" + token + "\",\"expires_in\":100,\"token_type\":\"Bearer\"}";
                status = 200;
            } else {
                body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret.\"}";
                status = 401;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        endpoint.start();

        int port = RelayHarness.freePort();
        AuthenticationHandlerFactory xoauth2 = new AuthenticationHandlerFactory() {
            @Override
            public List<String> getAuthenticationMechanisms() {
                return List.of(mechanism);
            }

            @Override
            public AuthenticationHandler create() {
                return new AuthenticationHandler() {
                    private boolean challenged;
                    private String identity;

                    @Override
                    public Optional<String> auth(String clientInput, MessageContext context) throws RejectException {
                        if (challenged) {
                            // The client's (empty) answer to the error challenge: now the failure.
                            throw new RejectException(535, "5.7.8 Username and Password not accepted");
                        }
                        String[] words = clientInput.trim().split(" ");
                        String decoded = new String(Base64.getDecoder().decode(words[words.length - 1]), StandardCharsets.UTF_8);
                        String user;
                        String token;
                        if (words[1].equalsIgnoreCase("OAUTHBEARER")) {
                            // n,a=USER,^Ahost=H^Aport=P^Aauth=Bearer TOKEN^A^A
                            String[] parts = decoded.split("\u0001");
                            user = parts[0].substring("n,a=".length(), parts[0].length() - 1);
                            token = parts[3].substring("auth=Bearer ".length());
                            if (!parts[1].equals("host=localhost") || !parts[2].startsWith("port=")) {
                                throw new RejectException(501, "5.5.2 malformed OAUTHBEARER response");
                            }
                        } else {
                            // user=USER ^A auth=Bearer TOKEN ^A ^A
                            String[] parts = decoded.split("\u0001");
                            user = parts[0].substring("user=".length());
                            token = parts[1].substring("auth=Bearer ".length());
                        }
                        if (!decoded.endsWith("\u0001\u0001") || !liveTokens.contains(token)) {
                            challenged = true;
                            return Optional.of("334 " + Base64.getEncoder().encodeToString(
                                    "{\"status\":\"401\",\"schemes\":\"bearer\"}".getBytes(StandardCharsets.UTF_8)));
                        }
                        identity = user;
                        authenticatedWith.add(token);
                        return Optional.empty();
                    }

                    @Override
                    public Object getIdentity() {
                        return identity;
                    }
                };
            }
        };
        upstream = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getLoopbackAddress())
                .startTlsSocketFactory(TestCertificates.selfSignedServerContext("localhost")).requireTLS()
                .authenticationHandlerFactory(xoauth2).requireAuth().sessionHandler(new SessionHandler() {
                    @Override
                    public SessionAcceptance accept(Session session) {
                        upstreamSessions.incrementAndGet();
                        return SessionAcceptance.success();
                    }

                    @Override
                    public void onSessionEnd(Session session) {
                        upstreamSessions.decrementAndGet();
                    }
                }));
        upstream.start();

        Files.writeString(temp.resolve("config-secret"), "good-secret\n");
    }

    @AfterEach
    void stop() {
        endpoint.stop(0);
        upstream.stop();
    }

    private RelayHarness relay() throws Exception {
        RelayHarness relay = new RelayHarness(temp).clock(clock).mainCf("smtp_connection_cache_time_limit = 1s")
                .env("DEFAULT_RELAY_HOST", "[localhost]:" + upstream.getServer().getPort())
                .env("RELAY_USER", "relay@contoso.test").env("RELAY_PASSWORD", "{oauth2}app");
        Files.writeString(relay.configDir.resolve("app.secret"), "good-secret\n");
        Files.write(relay.configDir.resolve("oauth2-clients.cf"), List.of("app.provider = generic",
                "app.token_url = http://127.0.0.1:" + endpoint.getAddress().getPort() + "/token",
                "app.client_id = relay-app", "app.client_secret_file = app.secret", "app.scope = smtp"));
        return relay.start();
    }

    /** {@code mta oauth2 token PROFILE} as a process: the expiry and scope, never the token or the secret. */
    @Test
    void theTokenCommandChecksAProfileWithoutPrintingSecrets() throws Exception {
        Path config = temp.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("app.secret"), "good-secret\n");
        Files.write(config.resolve("oauth2-clients.cf"), List.of("app.provider = generic",
                "app.token_url = http://127.0.0.1:" + endpoint.getAddress().getPort() + "/token",
                "app.client_id = relay-app", "app.client_secret_file = app.secret", "app.scope = smtp"));
        Map<String, String> env = Map.of("MTA_CONFIG_DIR", config.toString());
        Process ok = MtaProcessIT.mta(temp, env, "oauth2", "token", "app").start();
        String out = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ok.waitFor()).isZero();
        assertThat(out).contains("profile app: access token issued, expires ").containsPattern("\\(in (99|100) s\\), scope smtp")
                .doesNotContain("tok-").doesNotContain("good-secret");

        acceptedSecret = "something-else";
        Process refused = MtaProcessIT.mta(temp, env, "oauth2", "token", "app").start();
        String err = new String(refused.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(refused.waitFor()).isEqualTo(1);
        assertThat(err).contains("refused: invalid_client").doesNotContain("good-secret");
        Process domain = MtaProcessIT.mta(temp, env, "setup", "relay", "add-domain", "contoso.test", "smtp.office365.com",
                "587").start();
        assertThat(domain.waitFor()).isZero();
        Process auth = MtaProcessIT.mta(temp, env, "setup", "relay", "add-auth", "contoso.test", "relay@contoso.test",
                "--oauth2", "app").start();
        assertThat(auth.waitFor()).isZero();
        assertThat(Files.readString(config.resolve("postfix-sasl-password.cf")))
                .contains("@contoso.test relay@contoso.test:{oauth2}app");
        Process route = MtaProcessIT.mta(temp, env, "route", "a@contoso.test", "b@ext.test").start();
        String routed = new String(route.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(route.waitFor()).isZero();
        assertThat(routed).contains("relay@contoso.test").contains("OAuth2 profile app");

        Process unknown = MtaProcessIT.mta(temp, env, "oauth2", "token", "nope").start();
        String unknownErr = new String(unknown.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(unknown.waitFor()).isEqualTo(2);
        assertThat(unknownErr).contains("no profile 'nope' in oauth2-clients.cf (profiles: app)");
    }

    /** Cached sessions are closed after smtp_connection_cache_time_limit (1 s here) of wall-clock idleness: the upstream sees it. */
    private void idleSessionsClosed() {
        await().atMost(Duration.ofSeconds(10)).until(() -> upstreamSessions.get() == 0);
    }

    @Test
    void mailFlowsWithOneTokenRequestPerLifetimeAndARevokedTokenIsReplacedOnce() throws Exception {
        try (RelayHarness relay = relay(); SmtpTestClient client = relay.client()) {
            for (int i = 0; i < 5; i++) {
                assertThat(client.send("a@one.test", "bob" + i + "@ext.test", "Subject: " + i + "\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            }
            assertThat(tokenRequests).as("one token for five messages").hasValue(1);

            // The provider revokes the token early: the 535 drops it, and one new token carries the mail.
            // (An authenticated session stays usable while cached; AUTH comes with the next new session.)
            liveTokens.clear();
            idleSessionsClosed();
            assertThat(client.send("a@one.test", "carol@ext.test", "Subject: revoked\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent revoked = relay.nextEvent(WAIT);
            assertThat(revoked.status()).as(revoked.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(tokenRequests).hasValue(2);

            // Refreshed ahead of expiry: at 81% of its 100 s the next message gets a new token.
            clock.advance(Duration.ofSeconds(81));
            idleSessionsClosed();
            assertThat(client.send("a@one.test", "dave@ext.test", "Subject: later\r\n\r\nx\r\n")).startsWith("250");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(tokenRequests).hasValue(3);
            assertThat(authenticatedWith).containsExactlyInAnyOrder("tok-1", "tok-2", "tok-3");
            String metrics = relay.server.scrapeMetrics();
            assertThat(metrics).contains("mta_oauth2_token_requests_total{profile=\"app\",result=\"ok\"} 3.0")
                    .containsPattern("mta_oauth2_token_expiry_seconds\\{profile=\"app\"\\} (9[0-9]|100)\\.")
                    .doesNotContain("tok-");
            assertThat(upstream.getMessages()).hasSize(7);
        }
    }

    /** {@code mta oauth2 login}: the device code to enter, the wait, the refresh token saved; then mail flows with it. */
    @Test
    void loginByDeviceCodeSavesTheFirstRefreshToken() throws Exception {
        Path config = temp.resolve("config");
        Files.createDirectories(config);
        Files.write(config.resolve("oauth2-clients.cf"), List.of("delegated.provider = microsoft",
                "delegated.tenant = contoso.test", "delegated.client_id = app", "delegated.refresh_token_file = delegated.token",
                "delegated.token_url = http://127.0.0.1:" + endpoint.getAddress().getPort() + "/token"));
        Process login = MtaProcessIT.mta(temp, Map.of("MTA_CONFIG_DIR", config.toString()), "oauth2", "login", "delegated")
                .start();
        String out = new String(login.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(login.waitFor()).as(out).isZero();
        assertThat(out).contains("https://microsoft.com/devicelogin").contains("WXYZ-1234")
                .contains("signed in; refresh token saved to").doesNotContain("refresh-0").doesNotContain("tok-d");
        assertThat(Files.readString(config.resolve("delegated.token")).strip()).isEqualTo("refresh-0");
        assertThat(devicePolls).as("pending once, then signed in").hasValue(2);
    }

    /** A rotated refresh token is saved before use, and a restarted relay goes on from it. */
    @Test
    void aRotatedRefreshTokenSurvivesARestart() throws Exception {
        Path config = temp.resolve("config");
        for (int run = 0; run < 2; run++) {
            RelayHarness relay = new RelayHarness(temp).clock(clock)
                    .env("DEFAULT_RELAY_HOST", "[localhost]:" + upstream.getServer().getPort())
                    .env("RELAY_USER", "boss@contoso.test").env("RELAY_PASSWORD", "{oauth2}delegated");
            if (run == 0) {
                Files.writeString(config.resolve("delegated.token"), "refresh-0\n");
                Files.write(config.resolve("oauth2-clients.cf"), List.of("delegated.provider = microsoft",
                        "delegated.tenant = contoso.test", "delegated.client_id = app",
                        "delegated.refresh_token_file = delegated.token",
                        "delegated.token_url = http://127.0.0.1:" + endpoint.getAddress().getPort() + "/token"));
            }
            try (RelayHarness started = relay.start(); SmtpTestClient client = started.client()) {
                assertThat(client.send("a@one.test", "bob@ext.test", "Subject: run " + run + "\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent e = started.nextEvent(WAIT);
                assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            }
            assertThat(Files.readString(config.resolve("delegated.token")).strip()).as("after run %d", run)
                    .isEqualTo(currentRefresh);
        }
        assertThat(tokenRequests).as("each start used the refresh token the one before saved").hasValue(2);
        assertThat(upstream.getMessages()).hasSize(2);
    }

    /** A server that offers only OAUTHBEARER gets RFC 7628's response, and its error challenge the ^A answer. */
    @Test
    void oauthbearerWhenThatIsAllTheServerOffers() throws Exception {
        mechanism = "OAUTHBEARER";
        try (RelayHarness relay = relay(); SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: bearer\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            liveTokens.clear();
            idleSessionsClosed();
            assertThat(client.send("a@one.test", "carol@ext.test", "Subject: again\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent again = relay.nextEvent(WAIT);
            assertThat(again.status()).as(again.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(authenticatedWith).containsExactlyInAnyOrder("tok-1", "tok-2");
        }
    }

    @Test
    void aRevokedClientSecretDefersWithoutShowingItAndAFixedOneLetsMailFlow() throws Exception {
        acceptedSecret = "rotated-secret";
        try (RelayHarness relay = relay(); SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: held\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.0");
            assertThat(e.reason()).contains("invalid_client").doesNotContain("good-secret");
            assertThat(relay.server.scrapeMetrics())
                    .contains("mta_oauth2_token_requests_total{profile=\"app\",result=\"invalid_client\"}");
            assertThat(upstream.getMessages()).isEmpty();

            for (int i = 0; i < 2; i++) {
                relay.server.engine().queue().flush();
                assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            }
            assertThat(relay.server.health().json()).as("/health says what needs an operator")
                    .contains("\"status\": \"ok\"")
                    .contains("oauth2 profile app: 3 token requests failed in a row (last: invalid_client)")
                    .doesNotContain("good-secret");

            Files.writeString(relay.configDir.resolve("app.secret"), "rotated-secret\n");
            relay.server.configWatcher().reloadNow("test");
            relay.server.engine().queue().flush();
            DeliveryEvent after = relay.nextEvent(WAIT);
            assertThat(after.status()).as(after.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(upstream.getMessages()).hasSize(1);
            assertThat(relay.server.health().json()).contains("\"warnings\": []");
        }
    }
}
