package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.apache.commons.codec.digest.Crypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.SmtpTestClient;

/** Passwords never reach logs, errors, metrics, --help or command output: a full run, grepped. */
class SecretsHygieneIT {
    private static final String RELAY_PASSWORD = "Relay-Secret-7f3a";
    private static final String MAP_PASSWORD = "Map-Secret-91c2";
    private static final String ACCOUNT_PASSWORD = "Account-Secret-5d4e";
    private static final String TYPED_WRONG = "Typed-Wrong-0b8f";
    private static final String OAUTH_SECRET = "OAuth-Secret-3e9d";
    private static final String ACCESS_TOKEN = "Access-Token-8a1c";
    private static final String REFRESH_TOKEN = "Refresh-Token-c55b";

    @TempDir
    Path temp;

    @Test
    void noSecretInAnyOutput() throws Exception {
        int upstreamPort = RelayHarness.freePort();
        int listenPort = RelayHarness.freePort();
        int submissionPort = RelayHarness.freePort();
        int adminPort = RelayHarness.freePort();
        // A token endpoint: OAuth2 credentials get a token (the upstream offers no XOAUTH2, so it is never sent).
        HttpServer tokenEndpoint = HttpServer.create(
                new InetSocketAddress("127.0.0.1", 0), 0);
        tokenEndpoint.createContext("/token", ex -> {
            ex.getRequestBody().readAllBytes();
            byte[] b = ("{\"access_token\":\"" + ACCESS_TOKEN + "\",\"refresh_token\":\"" + REFRESH_TOKEN
                    + "\",\"expires_in\":3600}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        tokenEndpoint.start();
        GreenMail greenMail = new GreenMail(new ServerSetup(upstreamPort, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS));
        greenMail.setUser("relayuser", "relayuser", "the-right-one");
        greenMail.start();
        Path config = temp.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("postfix-main.cf"), "smtp_tls_wrappermode = yes\nsmtpd_error_sleep_time = 0s\n");
        Files.write(config.resolve("postfix-sasl-password.cf"), List.of("@two.test mapuser:" + MAP_PASSWORD,
                "@three.test oauthuser:{oauth2}app"));
        Files.write(config.resolve("oauth2-clients.cf"), List.of("app.provider = generic", "app.client_id = app-id",
                "app.client_secret = " + OAUTH_SECRET,
                "app.token_url = http://127.0.0.1:" + tokenEndpoint.getAddress().getPort() + "/token"));
        Files.setPosixFilePermissions(config.resolve("postfix-sasl-password.cf"),
                PosixFilePermissions.fromString("rw-r--r--"));
        Files.write(config.resolve("postfix-accounts.cf"),
                List.of("alice@one.test|{SHA512-CRYPT}" + Crypt.crypt(ACCOUNT_PASSWORD, "$6$saltsalt")));
        Map<String, String> env = new HashMap<>();
        env.put("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort);
        env.put("RELAY_USER", "relayuser");
        env.put("RELAY_PASSWORD", RELAY_PASSWORD);
        env.put("MTA_LISTEN", "127.0.0.1:" + listenPort);
        env.put("MTA_SUBMISSION_LISTEN", "127.0.0.1:" + submissionPort);
        env.put("MTA_ADMIN_LISTEN", "127.0.0.1:" + adminPort);
        List<String> outputs = new ArrayList<>();
        Process relay = MtaProcessIT.mta(temp, env, "run")
                .redirectOutput(ProcessBuilder.Redirect.appendTo(temp.resolve("run.log").toFile())).start();
        try {
            long deadline = System.currentTimeMillis() + 30_000;
            while (!(Files.exists(temp.resolve("run.log")) && Files.readString(temp.resolve("run.log")).contains("outbound:"))
                    && relay.isAlive() && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.readString(temp.resolve("run.log"))).as("the relay started").contains("outbound:");
            // Relay AUTH rejected upstream (wrong password), and a map-credential route.
            try (SmtpTestClient c = new SmtpTestClient(listenPort)) {
                c.command("EHLO client.test");
                assertThat(c.send("a@one.test", "bob@ext.test", "Subject: s1\r\n\r\nx\r\n")).startsWith("250");
                assertThat(c.send("b@two.test", "bob@ext.test", "Subject: s2\r\n\r\nx\r\n")).startsWith("250");
                assertThat(c.send("c@three.test", "bob@ext.test", "Subject: s3\r\n\r\nx\r\n")).startsWith("250");
            }
            // Submission AUTH: a wrong password and a right one.
            for (String password : List.of(TYPED_WRONG, ACCOUNT_PASSWORD)) {
                try (Socket s = new Socket("127.0.0.1", submissionPort)) {
                    s.setSoTimeout(5000);
                    ListenerSecurityIT.readReply(s.getInputStream());
                    s.getOutputStream().write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
                    ListenerSecurityIT.readReply(s.getInputStream());
                    SSLSocket tls = ListenerSecurityIT.startTls(s, submissionPort);
                    String token = Base64.getEncoder().encodeToString(("\0alice@one.test\0" + password)
                            .getBytes(StandardCharsets.UTF_8));
                    tls.getOutputStream().write(("EHLO x\r\nAUTH PLAIN " + token + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    ListenerSecurityIT.readReply(tls.getInputStream());
                    String reply = ListenerSecurityIT.readReply(tls.getInputStream());
                    assertThat(reply).startsWith(password.equals(TYPED_WRONG) ? "535" : "235");
                }
            }
            // The three messages' attempts (an AUTH refused, a map credential, a token) are logged.
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(temp.resolve("run.log")).split("status=", -1).length > 3);
            outputs.add(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                    + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body());
            String adminToken = Files.readString(temp.resolve("data/spool/admin.token")).strip();
            outputs.add(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                    + "/queue")).header("Authorization", "Bearer " + adminToken).build(), HttpResponse.BodyHandlers.ofString()).body());
        } finally {
            relay.destroy();
            relay.waitFor(20, TimeUnit.SECONDS);
            greenMail.stop();
            tokenEndpoint.stop(0);
        }
        outputs.add(Files.readString(temp.resolve("run.log")));
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"run", "--help"},
                new String[] {"route", "--json", "b@two.test", "x@ext.test"}, new String[] {"route", "a@one.test"},
                new String[] {"setup", "relay", "list"}, new String[] {"queue", "list", "--json", "--admin", "127.0.0.1:1"},
                new String[] {"route", "c@three.test", "x@ext.test"}, new String[] {"config"})) {
            Process p = MtaProcessIT.mta(temp, env, args).start();
            outputs.add(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            p.waitFor(30, TimeUnit.SECONDS);
        }
        String all = String.join("\n", outputs);
        assertThat(all).contains("SASL authentication failed", "status=deferred", "mapuser", "alice@one.test",
                "OAuth2 profile app", "mta_oauth2_token_requests_total");
        // The credentials file was written with the default umask: the relay says it should be 0600.
        assertThat(outputs.get(2)).contains("postfix-sasl-password.cf holds passwords and every user can read it", "chmod 600");
        for (String secret : List.of(RELAY_PASSWORD, MAP_PASSWORD, ACCOUNT_PASSWORD, TYPED_WRONG, OAUTH_SECRET, ACCESS_TOKEN,
                REFRESH_TOKEN)) {
            assertThat(all).as("output must not contain " + secret).doesNotContain(secret)
                    .doesNotContain(Base64.getEncoder().encodeToString(secret.getBytes(StandardCharsets.UTF_8)));
        }
    }
}
