package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an operator's kill does to a running relay process: HUP reloads at once, TERM stops cleanly. */
class SignalsIT {
    @TempDir
    Path temp;

    private static boolean await(Path log, String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static void kill(String signal, long pid) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor()).isZero();
    }

    @Test
    void hangupReloadsTheConfigurationAndTermStopsWithLogLines() throws Exception {
        Files.createDirectories(temp.resolve("config"));
        Path log = temp.resolve("run.log");
        Process relay = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + RelayHarness.freePort(),
                        "MTA_ADMIN_LISTEN", "off", "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort()), "run")
                .redirectOutput(log.toFile()).start();
        try {
            assertThat(await(log, "outbound:", Duration.ofSeconds(30))).as("started: " + log).isTrue();
            Files.write(temp.resolve("config/postfix-relaymap.cf"), List.of("@one.test [127.0.0.1]:2626"));
            kill("HUP", relay.pid());
            assertThat(await(log, "config: reloaded on SIGHUP", Duration.ofSeconds(10))).as(Files.readString(log)).isTrue();
            assertThat(Files.readString(log)).contains("relay map entries 0 -> 1");
            assertThat(relay.isAlive()).as("SIGHUP does not stop the relay").isTrue();

            kill("TERM", relay.pid());
            assertThat(relay.waitFor(20, TimeUnit.SECONDS)).isTrue();
            String out = Files.readString(log);
            assertThat(out).contains("stopping").contains("stopped");
            assertThat(out.indexOf("stopping")).isLessThan(out.lastIndexOf("stopped"));
        } finally {
            relay.destroyForcibly();
        }
    }
}
