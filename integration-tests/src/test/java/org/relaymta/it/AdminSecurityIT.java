package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin endpoint lets no one in without the token, and a spool has one owner. */
class AdminSecurityIT {
    @TempDir
    Path temp;

    /** One raw HTTP/1.1 request (so Host and Origin can be anything); returns the status line and body. */
    private static String request(int port, String method, String path, String... headers) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            boolean host = false;
            int body = -1;
            for (String h : headers) {
                req.append(h).append("\r\n");
                host |= h.regionMatches(true, 0, "Host:", 0, 5);
                if (h.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                    body = Integer.parseInt(h.substring(15).strip());
                }
            }
            if (!host) {
                req.append("Host: 127.0.0.1:").append(port).append("\r\n");
            }
            req.append(body < 0 ? "Content-Length: 0\r\n" : "").append("Connection: close\r\n\r\n")
                    .append("x".repeat(Math.max(0, body)));
            s.getOutputStream().write(req.toString().getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int bodyAt = response.indexOf("\r\n\r\n");
            return response.lines().findFirst().orElse("") + (bodyAt > 0 ? "\n" + response.substring(bodyAt + 4) : "");
        }
    }

    @Test
    void theQueueNeedsTheTokenAndNoBrowserOrRebindingHostGetsIn() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: secret body\r\n\r\nx\r\n")).startsWith("250");
            int port = relay.server.adminPort();
            Path tokenFile = relay.spoolDir.resolve("admin.token");
            assertThat(Files.getPosixFilePermissions(tokenFile))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            String token = Files.readString(tokenFile).strip();
            assertThat(token).hasSizeGreaterThanOrEqualTo(40);

            assertThat(request(port, "GET", "/health")).startsWith("HTTP/1.1 200");
            assertThat(request(port, "GET", "/metrics")).startsWith("HTTP/1.1 200");
            String none = request(port, "GET", "/queue");
            assertThat(none).startsWith("HTTP/1.1 401").contains("\"error\": \"an admin token is required").doesNotContain("bob@ext.test");
            assertThat(request(port, "POST", "/queue/ALL/delete", "Authorization: Bearer wrong")).startsWith("HTTP/1.1 401")
                    .contains("wrong admin token");
            assertThat(request(port, "GET", "/queue", "Authorization: Bearer " + token)).startsWith("HTTP/1.1 200")
                    .contains("bob@ext.test");
            assertThat(request(port, "POST", "/queue/ALL/delete", "Authorization: Bearer " + token,
                    "Origin: https://evil.example")).as("a web page in a browser").startsWith("HTTP/1.1 403");
            assertThat(request(port, "GET", "/health", "Origin: https://evil.example")).startsWith("HTTP/1.1 403");
            assertThat(request(port, "GET", "/queue", "Authorization: Bearer " + token, "Host: rebind.attacker.test:" + port))
                    .as("DNS rebinding").startsWith("HTTP/1.1 403");
            assertThat(request(port, "GET", "/queue", "Authorization: Bearer " + token, "Host: localhost:" + port))
                    .startsWith("HTTP/1.1 200");
            assertThat(relay.server.engine().queue().size()).as("nothing was deleted").isEqualTo(1);
            assertThat(request(port, "GET", "/health", "X-Padding: " + "a".repeat(20_000))).startsWith("HTTP/1.1 431");
            assertThat(request(port, "POST", "/queue/flush", "Authorization: Bearer " + token, "Content-Length: 5"))
                    .as("a request body").startsWith("HTTP/1.1 413");

            // Two clients that stall in the middle of their request do not stop /health.
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.getOutputStream().write("GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                    stalled.add(s);
                }
                for (int i = 0; i < 5; i++) {
                    assertThat(request(port, "GET", "/health")).startsWith("HTTP/1.1 200");
                }
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
        }
    }

    /**
     * A hundred clients that open the admin port and stall (mid-header, or silent) must not delay
     * {@code /health}: a Kubernetes readiness probe with a 1 s timeout keeps passing. Paths and
     * methods are exact, and an answer never repeats a decoded line break from the request.
     */
    @Test
    void healthAnswersWithinASecondWhileAHundredClientsStallAndOnlyExactRoutesAnswer() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .start()) {
            int port = relay.server.adminPort();
            List<Socket> stalled = new ArrayList<>();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
            HttpRequest probe = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .timeout(Duration.ofSeconds(1)).build();
            try {
                for (int i = 0; i < 100; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    if (i % 2 == 0) {
                        s.getOutputStream().write("GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                    }
                    stalled.add(s);
                }
                for (int i = 0; i < 20; i++) {
                    HttpResponse<String> r = http.send(probe, HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).as("probe %d within its 1 s timeout", i).isEqualTo(200);
                }
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
            assertThat(request(port, "GET", "/healthz")).startsWith("HTTP/1.1 404");
            assertThat(request(port, "GET", "/health/")).startsWith("HTTP/1.1 404");
            assertThat(request(port, "GET", "/health/../queue")).startsWith("HTTP/1.1 404");
            assertThat(request(port, "GET", "/queue/../health")).startsWith("HTTP/1.1 404");
            for (String method : List.of("TRACE", "OPTIONS", "DELETE", "POST", "PUT")) {
                String r = request(port, method, "/health");
                assertThat(r).as(method).startsWith("HTTP/1.1 405");
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.getOutputStream().write(("TRACE /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String raw = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(raw).containsIgnoringCase("allow: GET");
            }
            assertThat(request(port, "GET", "/queue/flush")).startsWith("HTTP/1.1 405");
            String injected = request(port, "GET", "/queue/%0d%0aX-Injected:%20yes");
            assertThat(injected).startsWith("HTTP/1.1 404").doesNotContain("X-Injected", "\r\nX-");
            assertThat(request(port, "GET", "/health?%0d%0a=1")).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void aConfiguredTokenIsUsedAndTheCliFindsTheRelayThroughTheSpool() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .env("MTA_ADMIN_TOKEN", "configured-token-0123456789").start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: s\r\n\r\nx\r\n")).startsWith("250");
            assertThat(Files.exists(relay.spoolDir.resolve("admin.token"))).as("no token file when one is configured").isFalse();
            int port = relay.server.adminPort();
            assertThat(request(port, "GET", "/queue", "Authorization: Bearer configured-token-0123456789"))
                    .startsWith("HTTP/1.1 200");

            // Offline on a spool a relay owns (its admin address given wrongly): refused, nothing changed.
            MtaProcessIT.Result offline = cli(Map.of(), "queue", "delete", "ALL", "--admin", "127.0.0.1:1",
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(offline.exit()).isEqualTo(1);
            assertThat(relay.server.engine().queue().size()).isEqualTo(1);
            // Without --admin the CLI finds the relay's address in the spool; the token too, once given.
            MtaProcessIT.Result noToken = cli(Map.of(), "queue", "list", "--spool-dir", relay.spoolDir.toString());
            assertThat(noToken.exit()).isEqualTo(1);
            MtaProcessIT.Result listed = cli(Map.of("MTA_ADMIN_TOKEN", "configured-token-0123456789"), "queue", "list",
                    "--spool-dir", relay.spoolDir.toString());
            assertThat(listed.exit()).isZero();
            assertThat(listed.stdout()).contains("bob@ext.test");
        }
    }

    @Test
    void aSecondRelayOnTheSameSpoolIsRefused() throws Exception {
        try (RelayHarness first = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort())
                .start()) {
            RelayHarness second = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort());
            assertThatThrownBy(second::start).hasMessageContaining("spool " + first.spoolDir + " is in use by another relay (pid "
                    + ProcessHandle.current().pid() + ")");
            // A second process gets the same answer and exit status 1.
            MtaProcessIT.Result run = cli(Map.of("MTA_SPOOL_DIR", first.spoolDir.toString(), "MTA_LISTEN", "127.0.0.1:0",
                    "MTA_ADMIN_LISTEN", "off"), "run");
            assertThat(run.exit()).isEqualTo(1);
        }
    }

    /** Runs {@code mta} as a process; one that is still running after 30 s is killed and fails the test. */
    private MtaProcessIT.Result cli(Map<String, String> env, String... args) throws Exception {
        Path output = Files.createTempFile(temp, "cli", ".out");
        Process p = MtaProcessIT.mta(temp, env, args).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mta " + String.join(" ", args) + " still running after 30 s: " + Files.readString(output));
        }
        return new MtaProcessIT.Result(p.exitValue(), Files.readString(output));
    }
}
