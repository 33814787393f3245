package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

class ReloadWarningsTest {
    @TempDir
    Path dir;

    @Test
    void aTableThatLostAllItsEntriesIsNamedWithItsFormerCount() throws Exception {
        Files.write(dir.resolve(ConfigLoader.RELAY_MAP_FILE), List.of("@one.test [smtp.a.test]:587", "@two.test [smtp.b.test]"));
        Files.write(dir.resolve(ConfigLoader.SASL_PASSWORD_FILE), List.of("@one.test u:p"));
        RelayConfig before = new ConfigLoader(new Env(Map.of()), dir).load();
        Files.write(dir.resolve(ConfigLoader.RELAY_MAP_FILE), List.of("# emptied by mistake"));
        Files.delete(dir.resolve(ConfigLoader.SASL_PASSWORD_FILE));
        RelayConfig after = new ConfigLoader(new Env(Map.of()), dir).load();
        assertThat(after.tablesEmptiedSince(before)).containsExactly("the relay map lost all its 2 entries",
                "the credentials lost all their 1 entries");
        assertThat(before.tablesEmptiedSince(after)).isEmpty();
    }

    @Test
    void cannotReadSaysWhyInWords() {
        assertThat(ConfigException.why(new AccessDeniedException("/etc/x"))).isEqualTo("permission denied");
        assertThat(ConfigException.why(new NoSuchFileException("/etc/x"))).isEqualTo("no such file");
    }

    @Test
    void aConfigDirectoryThatDoesNotExistIsAWarning() {
        RelayConfig cfg = new ConfigLoader(new Env(Map.of()), dir.resolve("missing")).load();
        assertThat(cfg.warnings()).anySatisfy(w -> assertThat(w).contains("does not exist"));
    }

    @Test
    void aReloadWithNothingChangedSaysSo() throws Exception {
        Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [smtp.test]:587"));
        Files.write(dir.resolve("postfix-sasl-password.cf"), List.of("@one.test user:pw"));
        RelayConfig first = new ConfigLoader(new Env(Map.of()), dir).load();
        RelayConfig again = new ConfigLoader(new Env(Map.of()), dir).load();
        assertThat(again.describeChangeFrom(first)).isEqualTo("nothing changed");
        Files.write(dir.resolve("postfix-sasl-password.cf"), List.of("@one.test user:new-pw"));
        RelayConfig changed = new ConfigLoader(new Env(Map.of()), dir).load();
        assertThat(changed.describeChangeFrom(first)).startsWith("entries changed, counts unchanged").doesNotContain("new-pw");
    }
}
