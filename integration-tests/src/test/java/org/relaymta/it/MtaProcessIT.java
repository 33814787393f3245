package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;

/** The packaged relay as a user runs it: {@code java -jar mta-server-*-all.jar run}, a separate process. */
class MtaProcessIT {
    private static final String PASSWORD = "pr0cess-secret";

    @TempDir
    Path temp;

    static Path serverJar() throws IOException {
        Path target = Path.of("..", "mta-server", "target").toAbsolutePath().normalize();
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(target, "mta-server-*-all.jar")) {
            for (Path jar : jars) {
                return jar;
            }
        }
        throw new IllegalStateException("no self-contained jar in " + target + ": run 'mvn verify' from the root");
    }

    record Result(int exit, String stdout) {
    }

    static ProcessBuilder mta(Path workDir, Map<String, String> env, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-jar");
        command.add(serverJar().toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("MTA_") || k.endsWith("RELAY_HOST"));
        pb.environment().putAll(env);
        return pb;
    }

    /**
     * As {@link #mta}, with the JVM options the {@code ./mta} launcher gives a relay by default (its
     * {@code default_opts}, read from the script so the two never differ): the heap, direct memory
     * and buffer limits a user's relay runs with.
     */
    static ProcessBuilder mtaWithLauncherOptions(Path workDir, Map<String, String> env, String... args) throws IOException {
        String launcher = Files.readString(Path.of("..", "mta"));
        Matcher m = Pattern.compile("(?m)^default_opts=\"([^\"]+)\"").matcher(launcher);
        if (!m.find()) {
            throw new IllegalStateException("no default_opts in ../mta");
        }
        ProcessBuilder pb = mta(workDir, env, args);
        pb.command().addAll(1, List.of(m.group(1).split(" ")));
        return pb;
    }

    /** Waits (polling the log file, up to 30 s) until {@code text} occurs at least {@code times} times in it. */
    static boolean awaitLog(Path log, String text, int times) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).split(Pattern.quote(text), -1).length - 1 >= times) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    @Test
    void runPrintsASummaryWithoutSecretsAndRelaysMail() throws Exception {
        int upstreamPort = RelayHarness.freePort();
        int listenPort = RelayHarness.freePort();
        int adminPort = RelayHarness.freePort();
        Wiser wiser = Wiser.port(upstreamPort);
        wiser.start();
        Files.createDirectories(temp.resolve("config"));
        // Without STARTTLS on this upstream, credentials would force 4.7.4; show AUTH state but allow plaintext.
        Files.writeString(temp.resolve("config/postfix-main.cf"), "smtp_tls_security_level = may\n");
        Process p = mta(temp, Map.of(
                "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort,
                "RELAY_USER", "user",
                "RELAY_PASSWORD", PASSWORD,
                "MTA_LISTEN", "127.0.0.1:" + listenPort,
                "MTA_ADMIN_LISTEN", "127.0.0.1:" + adminPort), "run").start();
        List<String> output = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.add(line);
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
        reader.start();
        try {
            long deadline = System.currentTimeMillis() + 30_000;
            while (output.stream().noneMatch(l -> l.startsWith("outbound:")) && System.currentTimeMillis() < deadline) {
                assertThat(p.isAlive()).as("relay process running; output: " + output).isTrue();
                Thread.sleep(100);
            }
            // Only a machine without a fully-qualified name (myhostname) gets a warning before the summary.
            int first = 0;
            while (output.get(first).contains("[WARN]") && output.get(first).contains("myhostname")) {
                first++;
            }
            assertThat(output.get(first)).startsWith("mta " + version() + " listening on 127.0.0.1:" + listenPort
                    + ", spool ./data/spool (0 queued), config ./config, admin 127.0.0.1:" + adminPort + ", started in ")
                    .matches(".*, started in [0-9]+\\.[0-9]{2} s");
            assertThat(output.get(first + 1)).isEqualTo("outbound: default relay host [127.0.0.1]:" + upstreamPort
                    + ", TLS may, AUTH configured (1 credential)");

            try (SmtpTestClient c = new SmtpTestClient(listenPort)) {
                c.command("EHLO client.test");
                assertThat(c.send("a@one.test", "b@ext.test", "Subject: proc\r\n\r\nhi\r\n")).startsWith("250 2.0.0 Ok: queued as");
            }
            deadline = System.currentTimeMillis() + 20_000;
            while (wiser.getMessages().isEmpty() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertThat(wiser.getMessages()).as(String.join("\n", output)).hasSize(1);
            // The relay logs the outcome once it has recorded it, just after the upstream's reply.
            while (output.stream().noneMatch(l -> l.contains("status=sent")) && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.isDirectory(temp.resolve("data/spool/queue"))).isTrue();
        } finally {
            p.destroy();
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("relay stops on SIGTERM").isTrue();
            reader.join(5000);
            wiser.stop();
        }
        assertThat(String.join("\n", output)).doesNotContain(PASSWORD).contains("status=sent");
    }

    @Test
    void badRelayPortStopsStartWithTheVariableNamed() throws Exception {
        Process p = mta(temp, Map.of("RELAY_HOST", "r.test", "RELAY_PORT", "five-eight-seven"), "run").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(out).contains("mta: configuration error: RELAY_PORT: 'five-eight-seven' is not a port number");
    }

    private static String version() throws IOException {
        return serverJar().getFileName().toString().replace("mta-server-", "").replace("-all.jar", "");
    }
}
