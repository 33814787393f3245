package org.relaymta.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;

/** What the relay says about the modes of its password map: one warning with the fix that works, a refusal only for others' writes. */
class SecretFileModesTest {
    @TempDir
    Path dir;

    private Path sasl(String mode) throws Exception {
        Path f = dir.resolve(ConfigLoader.SASL_PASSWORD_FILE);
        Files.write(f, List.of("[smtp.test]:587 user:pw"));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void aFileOfItsOwnEveryoneMayReadGetsChmod600() throws Exception {
        Path f = sasl("rw-r--r--");
        assertThat(RelayServer.secretsWarning(f)).hasValueSatisfying(w -> assertThat(w)
                .contains("every user can read it (rw-r--r--)").endsWith("chmod 600 " + f));
        assertThat(new ConfigLoader(new Env(Map.of()), dir).load()).isNotNull();   // loads: a warning, not a refusal
    }

    @Test
    void aFileOfAnotherUserGetsTheGroupFixNotChmod600() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "giving a file to another user needs root");
        Path f = sasl("rw-r--r--");
        new ProcessBuilder("chown", "999:999", f.toString()).start().waitFor();
        assertThat(RelayServer.secretsWarning(f)).hasValueSatisfying(w -> assertThat(w)
                .contains("it belongs to uid 999 and this relay runs as uid 0, so chmod 600 would lock the relay out")
                .endsWith("chgrp 0 " + f + " && chmod 640 " + f));
    }

    @Test
    void ownerAndGroupOnlyIsQuiet() throws Exception {
        assertThat(RelayServer.secretsWarning(sasl("rw-r-----"))).isEmpty();
        assertThat(RelayServer.secretsWarning(sasl("rw-------"))).isEmpty();
    }

    @Test
    void aFileEveryUserMayWriteIsRefusedWithTheFix() throws Exception {
        Path f = sasl("rw-rw-rw-");
        assertThatThrownBy(() -> new ConfigLoader(new Env(Map.of()), dir).load()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("every user may write this file of passwords (rw-rw-rw-): chmod o-w " + f);
    }
}
