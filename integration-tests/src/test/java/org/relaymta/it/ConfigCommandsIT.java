package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;

/** {@code mta route}, {@code mta setup relay} as processes, and hot reload of a running relay. */
class ConfigCommandsIT {
    @TempDir
    Path temp;

    private MtaProcessIT.Result mta(Map<String, String> env, String stdin, String... args) throws Exception {
        ProcessBuilder pb = MtaProcessIT.mta(temp, env, args).redirectErrorStream(false)
                .redirectError(ProcessBuilder.Redirect.appendTo(temp.resolve("stderr.txt").toFile()));
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new MtaProcessIT.Result(p.exitValue(), out);
    }

    private String stderr() throws Exception {
        Path f = temp.resolve("stderr.txt");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Test
    void setupRelayWritesDmsSyntaxAndRoutePrintsTheDecision() throws Exception {
        Files.createDirectories(temp.resolve("config"));
        Map<String, String> env = Map.of();
        assertThat(mta(env, null, "setup", "relay", "add-domain", "one.test", "smtp.a.test", "2525").exit()).isZero();
        assertThat(mta(env, null, "setup", "relay", "add-domain", "boss.test", "smtp.b.test").exit()).isZero();
        assertThat(mta(env, "s3cret:pw\ns3cret:pw\n", "setup", "relay", "add-auth", "one.test", "ua").exit()).isZero();
        assertThat(mta(env, null, "setup", "relay", "exclude-domain", "boss.test").exit()).isZero();

        MtaProcessIT.Result mismatch = mta(env, "one\ntwo\n", "setup", "relay", "add-auth", "two.test", "ub");
        assertThat(mismatch.exit()).isEqualTo(1);
        assertThat(stderr()).contains("Passwords do not match!");
        MtaProcessIT.Result empty = mta(env, "\n\n", "setup", "relay", "add-auth", "two.test", "ub");
        assertThat(empty.exit()).isEqualTo(1);
        assertThat(stderr()).contains("Password must not be empty");
        // Scripts: one line on standard input, nothing in the process list; an argument works but is warned about.
        assertThat(mta(env, "from-stdin\n", "setup", "relay", "add-auth", "three.test", "uc", "--password-stdin").exit()).isZero();
        assertThat(mta(env, null, "setup", "relay", "add-auth", "four.test", "ud", "visible-pw").exit()).isZero();
        assertThat(stderr()).contains("visible to every user in the process list").doesNotContain("visible-pw");
        MtaProcessIT.Result both = mta(env, "x\n", "setup", "relay", "add-auth", "five.test", "ue", "pw", "--password-stdin");
        assertThat(both.exit()).isEqualTo(2);
        MtaProcessIT.Result badPort = mta(env, null, "setup", "relay", "add-domain", "three.test", "h.test", "99999");
        assertThat(badPort.exit()).isEqualTo(2);
        assertThat(stderr()).contains("invalid port '99999'");

        assertThat(Files.readAllLines(temp.resolve("config/postfix-relaymap.cf")))
                .containsExactly("@one.test [smtp.a.test]:2525", "@boss.test");
        assertThat(Files.readAllLines(temp.resolve("config/postfix-sasl-password.cf")))
                .containsExactly("@one.test ua:s3cret:pw", "@three.test uc:from-stdin", "@four.test ud:visible-pw");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(temp.resolve("config/postfix-sasl-password.cf"))))
                .isEqualTo("rw-r-----");

        MtaProcessIT.Result route = mta(env, null, "route", "--json", "c@one.test", "bob@ext.test");
        assertThat(route.exit()).isZero();
        assertThat(route.stdout().strip()).isEqualTo("{\"sender\": \"c@one.test\", \"recipient\": \"bob@ext.test\", "
                + "\"source\": \"sender_map\", \"map_key\": \"@one.test\", \"nexthops\": [\"[smtp.a.test]:2525\"], "
                + "\"mx_lookup\": false, \"credentials\": {\"username\": \"ua\", \"key\": \"@one.test\", \"auth\": \"password\"}, "
                + "\"tls_level\": \"encrypt\", \"wrapper_mode\": false, \"steps\": [\"transport_maps: no entries\", "
                + "\"sender relay map: @one.test (postfix-relaymap.cf:1) -> [smtp.a.test]:2525\"]}");
        MtaProcessIT.Result optOut = mta(env, null, "route", "--json", "x@boss.test", "bob@ext.test");
        assertThat(optOut.stdout()).contains("\"source\": \"opt_out\"", "\"map_key\": \"@boss.test\"", "\"nexthops\": []");

        MtaProcessIT.Result list = mta(env, null, "setup", "relay", "list");
        assertThat(list.stdout()).contains("@one.test -> [smtp.a.test]:2525", "@one.test ua:********")
                .doesNotContain("s3cret");

        MtaProcessIT.Result bad = mta(env, null, "route", "--json", "nobody");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.stdout()).isEmpty();
        assertThat(stderr()).contains("sender 'nobody' is not an email address");
    }

    @Test
    void aRelayMapChangeIsInForceForTheNextMessageWithoutRestart() throws Exception {
        int firstPort = RelayHarness.freePort();
        int secondPort = RelayHarness.freePort();
        Wiser first = Wiser.port(firstPort);
        Wiser second = Wiser.port(secondPort);
        first.start();
        second.start();
        try (RelayHarness relay = new RelayHarness(temp).start()) {
            Path relayMap = relay.configDir.resolve("postfix-relaymap.cf");
            Files.write(relayMap, List.of("@one.test [127.0.0.1]:" + firstPort));
            waitForReload(relay, 1);
            try (SmtpTestClient client = relay.client()) {
                assertThat(client.send("a@one.test", "b@ext.test", "Subject: one\r\n\r\nx\r\n")).startsWith("250");
                assertThat(relay.nextEvent(Duration.ofSeconds(20)).relay()).endsWith(":" + firstPort);

                // Same client connection stays open across the reload.
                Files.write(relayMap, List.of("@one.test [127.0.0.1]:" + secondPort));
                waitForReload(relay, 2);
                assertThat(client.send("a@one.test", "b@ext.test", "Subject: two\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent e = relay.nextEvent(Duration.ofSeconds(20));
                assertThat(e.status()).isEqualTo(DeliveryEvent.Status.SENT);
                assertThat(e.relay()).endsWith(":" + secondPort);

                // An invalid change is refused; the previous map stays in force.
                Files.write(relayMap, List.of("@one.test [127.0.0.1]:" + firstPort, "@ONE.TEST [x.test]"));
                long deadline = System.currentTimeMillis() + 5000;
                while (relay.server.configWatcher().failures() == 0 && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(relay.server.configWatcher().failures()).isEqualTo(1);
                assertThat(client.send("a@one.test", "b@ext.test", "Subject: three\r\n\r\nx\r\n")).startsWith("250");
                assertThat(relay.nextEvent(Duration.ofSeconds(20)).relay()).endsWith(":" + secondPort);
            }
            assertThat(first.getMessages()).hasSize(1);
            assertThat(second.getMessages()).hasSize(2);
        } finally {
            first.stop();
            second.stop();
        }
    }

    private static void waitForReload(RelayHarness relay, long count) throws InterruptedException {
        // The contract is "in force within 2 seconds".
        long deadline = System.currentTimeMillis() + 2000;
        while (relay.server.configWatcher().reloads() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertThat(relay.server.configWatcher().reloads()).isEqualTo(count);
    }

    @Test
    void configShowsEachSettingWithItsSourceAndNeverASecret() throws Exception {
        Files.createDirectories(temp.resolve("config"));
        Files.write(temp.resolve("config/postfix-main.cf"), List.of("# overrides", "message_size_limit = 20000000",
                "no_such_parameter = 1"));
        Files.write(temp.resolve("config/postfix-sasl-password.cf"), List.of("@one.test ua:MapSecret42"));
        Files.writeString(temp.resolve("password"), "EnvSecret17");
        MtaProcessIT.Result r = mta(Map.of("DEFAULT_RELAY_HOST", "[smtp.r.test]:587", "RELAY_USER", "u",
                "RELAY_PASSWORD__FILE", temp.resolve("password").toString(), "MTA_ADMIN_TOKEN", "TokenSecret9"),
                null, "config", "--all");
        assertThat(r.exit()).isZero();
        assertThat(r.stdout()).containsPattern("(?m)^DEFAULT_RELAY_HOST = \\[smtp.r.test\\]:587 +# environment$")
                .containsPattern("(?m)^RELAY_PASSWORD = \\*\\*\\*\\* +# environment, read from .*password \\(RELAY_PASSWORD__FILE\\)$")
                .containsPattern("(?m)^message_size_limit = 20000000 +# postfix-main.cf:2$")
                .containsPattern("(?m)^no_such_parameter = 1 +# postfix-main.cf:3 \\(unsupported: ignored\\)$")
                .containsPattern("(?m)^minimal_backoff_time = 300s +# not set")
                .contains("2 credentials (passwords not shown)");
        assertThat(r.stdout() + stderr()).doesNotContain("EnvSecret17", "MapSecret42", "TokenSecret9");
        assertThat(stderr()).contains("unsupported parameter 'no_such_parameter' is ignored");
    }

    @Test
    void aMissingConfigDirectoryIsWarnedAbout() throws Exception {
        MtaProcessIT.Result r = mta(Map.of(), null, "route", "a@one.test", "b@ext.test");
        assertThat(r.exit()).isZero();
        assertThat(r.stdout() + stderr()).contains("config directory ./config does not exist");
    }
}
