package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mta setup} run as root on a config directory that belongs to the relay's user (uid 999, as in
 * the image and the systemd unit): the files stay that user's, so the relay can still read them.
 */
class FileOwnershipIT {
    @TempDir
    Path temp;

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
    }

    private static String owner(Path f) throws Exception {
        return Files.getAttribute(f, "unix:uid") + ":" + Files.getAttribute(f, "unix:gid") + " "
                + PosixFilePermissions.toString(Files.getPosixFilePermissions(f));
    }

    @Test
    void setupAsRootKeepsTheRelayUsersFilesTheRelayUsers() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
        Path config = Files.createDirectories(temp.resolve("config"));
        Path sasl = config.resolve("postfix-sasl-password.cf");
        Files.write(sasl, List.of("@one.test user:old"));
        Files.setPosixFilePermissions(sasl, PosixFilePermissions.fromString("rw-r-----"));
        run("chown", "-R", "999:999", config.toString());

        Process p = MtaProcessIT.mta(temp, Map.of(), "setup", "relay", "--config-dir", config.toString(), "add-auth",
                "two.test", "user2", "--password-stdin").start();
        p.getOutputStream().write("s3cret\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(Files.readAllLines(sasl)).containsExactly("@one.test user:old", "@two.test user2:s3cret");
        assertThat(owner(sasl)).isEqualTo("999:999 rw-r-----");

        // A new file: the config directory's owner and group.
        Process add = MtaProcessIT.mta(temp, Map.of(), "setup", "relay", "--config-dir", config.toString(), "add-domain",
                "one.test", "smtp.test", "587").start();
        assertThat(add.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(owner(config.resolve("postfix-relaymap.cf"))).isEqualTo("999:999 rw-r--r--");
    }
}
