package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.relaymta.testing.SmtpTestClient;

/**
 * Relay processes ({@code mta run}) sharing one real Redis, each with its own spool and config
 * directory under {@code temp}, and what tests of several nodes ask of them: health, feeding mail,
 * arrival-time windows. Closing kills the processes and keeps their logs in
 * {@code target/cluster-logs} for a failure's diagnosis.
 */
final class RelayNodes implements AutoCloseable {
    /** One node: its directory, ports, spool and process (null for a view made from ports alone). */
    record Node(String name, Path dir, int smtp, int admin, Path spool, Process process) {
        Node(String name, Path dir, int smtp, int admin) {
            this(name, dir, smtp, admin, dir.resolve("data/spool"), null);
        }

        Path log() {
            return dir.resolve("mta.log");
        }
    }

    private final Path temp;
    private final RedisServer redis;
    private final List<Process> processes = new ArrayList<>();

    RelayNodes(Path temp, RedisServer redis) {
        this.temp = temp;
        this.redis = redis;
    }

    /**
     * Starts node {@code name}: {@code files} are written into its config directory, {@code env}
     * added to the shared Redis, its listeners and host name; returns once its health says the
     * counting is shared.
     */
    Node start(String name, Map<String, String> files, Map<String, String> env, int clusterNodes) throws Exception {
        Node node = launch(name, files, env, clusterNodes);
        awaitHealth(node, body -> body.contains("\"counting\": \"shared\""), Duration.ofSeconds(30));
        return node;
    }

    /** As {@link #start}, without waiting for the node to answer (a node that waits for its spool first). */
    Node launch(String name, Map<String, String> files, Map<String, String> env, int clusterNodes) throws Exception {
        Path dir = Files.createDirectories(temp.resolve(name));
        Files.createDirectories(dir.resolve("config"));
        for (Map.Entry<String, String> f : files.entrySet()) {
            Files.writeString(dir.resolve("config").resolve(f.getKey()), f.getValue());
        }
        int smtp = RelayHarness.freePort();
        int admin = RelayHarness.freePort();
        Map<String, String> all = new HashMap<>(Map.of(
                "MTA_HOSTNAME", name + ".relay.test",
                "MTA_LISTEN", "127.0.0.1:" + smtp,
                "MTA_ADMIN_LISTEN", "127.0.0.1:" + admin,
                "MTA_REDIS_URL", "redis://127.0.0.1:" + redis.port + "/0",
                "MTA_CLUSTER_NODES", Integer.toString(clusterNodes)));
        all.putAll(env);
        Process p = MtaProcessIT.mta(dir, all, "run")
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("mta.log").toFile())).start();
        processes.add(p);
        Path spool = all.containsKey("MTA_SPOOL_DIR") && all.containsKey("MTA_NODE_ID")
                ? Path.of(all.get("MTA_SPOOL_DIR")).resolve(all.get("MTA_NODE_ID")) : dir.resolve("data/spool");
        return new Node(name, dir, smtp, admin, spool, p);
    }

    static String health(int adminPort) {
        return get(adminPort, "/health", null);
    }

    /** GET {@code path} on a node's admin endpoint (with its token when {@code node} is given), "" when it does not answer. */
    static String get(int adminPort, String path, Node node) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                    .timeout(Duration.ofSeconds(5));
            if (node != null) {
                b.header("Authorization", "Bearer " + token(node));
            }
            return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    static String token(Node node) throws IOException {
        return Files.readString(node.spool().resolve("admin.token")).strip();
    }

    static void awaitHealth(Node node, Predicate<String> wanted, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = health(node.admin());
            if (wanted.test(last)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("health of " + node.name() + " never matched; last: " + last
                + (Files.exists(node.log()) ? "\nlog: " + Files.readString(node.log()) : ""));
    }

    /** Submits {@code count} messages to user{from..}@{domain} from app@{senderDomain}, {@code body} bytes each, on one session. */
    static void send(int port, String senderDomain, int from, int count, int bodyBytes) throws IOException {
        String filler = bodyBytes <= 0 ? "hi" : ("x".repeat(76) + "\r\n").repeat(Math.max(1, bodyBytes / 78));
        try (SmtpTestClient c = new SmtpTestClient(port)) {
            assertThat(c.command("EHLO app.test")).startsWith("250");
            for (int i = from; i < from + count; i++) {
                assertThat(c.command("MAIL FROM:<app@" + senderDomain + ">")).startsWith("250");
                assertThat(c.command("RCPT TO:<user" + i + "@example.org>")).startsWith("250");
                assertThat(c.data(("From: app@" + senderDomain + "\r\nTo: user" + i + "@example.org\r\nSubject: " + i
                        + "\r\n\r\n" + filler + "\r\n").getBytes(StandardCharsets.US_ASCII))).startsWith("250");
            }
            c.command("QUIT");
        }
    }

    /** The most arrivals (System.nanoTime) within any window of {@code seconds}. */
    static long maxInWindow(List<Long> times, double seconds) {
        List<Long> sorted = times.stream().sorted().toList();
        long window = (long) (seconds * 1e9);
        long max = 0;
        int start = 0;
        for (int end = 0; end < sorted.size(); end++) {
            while (sorted.get(end) - sorted.get(start) >= window) {
                start++;
            }
            max = Math.max(max, end - start + 1);
        }
        return max;
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        Path keep = Files.createDirectories(Path.of("target", "cluster-logs"));
        try (var dirs = Files.list(temp)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                if (Files.exists(d.resolve("mta.log"))) {
                    Files.copy(d.resolve("mta.log"), keep.resolve(d.getFileName() + ".log"), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
