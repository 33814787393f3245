package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaging files a user installs: the systemd unit passes systemd's own checks. */
class PackagingIT {
    private static final Path UNIT = Path.of("..", "packaging", "systemd", "relay-mta.service");

    @TempDir
    Path temp;

    @Test
    void theSystemdUnitVerifiesAndReloadsWithHangup() throws Exception {
        String unit = Files.readString(UNIT);
        assertThat(unit).contains("Type=exec", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "-jar /opt/relay-mta/mta.jar run");
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assumeTrue(Files.isExecutable(analyze) && Files.isExecutable(Path.of("/usr/bin/java")),
                "systemd-analyze (or /usr/bin/java, which the unit runs) is not installed: unit not verified");
        Path copy = temp.resolve("relay-mta.service");
        Files.writeString(copy, unit);
        Process p = new ProcessBuilder(analyze.toString(), "verify", copy.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out.strip()).as("systemd-analyze verify has nothing to say").isEmpty();
    }
}
