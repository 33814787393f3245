package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spool holds mail bodies, envelopes and the admin token: owner-only whatever the umask, as
 * Postfix's queue. The packaged relay runs under umask 000 and keeps a small message (a journal
 * record), a large one (its own file) and a deferred one (a state file).
 */
class SpoolPermissionsIT {
    @TempDir
    Path temp;

    @Test
    void spoolDirectoriesAre0700AndFiles0600UnderAnOpenUmask() throws Exception {
        int port = RelayHarness.freePort();
        ProcessBuilder pb = MtaProcessIT.mta(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port, "MTA_ADMIN_LISTEN",
                "127.0.0.1:" + RelayHarness.freePort(), "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + RelayHarness.freePort()), "run");
        List<String> java = pb.command();
        pb.command("/bin/sh", "-c", "umask 000 && exec \"$@\"", "sh");
        pb.command().addAll(java);
        Path log = temp.resolve("relay.log");
        Process relay = pb.redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!(Files.exists(log) && Files.readString(log).contains("outbound:")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            try (SmtpTestClient c = new SmtpTestClient(port)) {
                c.command("EHLO client.test");
                assertThat(c.send("a@one.test", "b@ext.test", "Subject: small\r\n\r\nsmall\r\n")).startsWith("250");
                assertThat(c.send("a@one.test", "b@ext.test", "Subject: large\r\n\r\n" + "y".repeat(998) + "\r\n"
                        + ("x".repeat(78) + "\r\n").repeat(10_000))).startsWith("250");
            }
            // The smarthost is down: both are deferred, each with a state file.
            while (Files.readString(log).split("status=deferred", -1).length < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            relay.destroy();
            relay.waitFor();
        }
        Path spool = temp.resolve("data/spool");
        List<Path> all;
        try (Stream<Path> walk = Files.walk(spool)) {
            all = walk.toList();
        }
        assertThat(all).anyMatch(p -> p.toString().endsWith(".state")).anyMatch(p -> p.getFileName().toString().equals("admin.token"))
                .anyMatch(p -> p.getFileName().toString().equals("journal"));
        for (Path p : all) {
            String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
            assertThat(mode).as(spool.relativize(p).toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
        }
    }
}
