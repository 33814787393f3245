package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelayFileEditorTest {
    @TempDir
    Path dir;

    private List<String> lines(String file) throws IOException {
        return Files.readAllLines(dir.resolve(file));
    }

    @Test
    void addDomainCreatesTheFileThenReplacesCaseInsensitivelyKeepingOtherLines() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        assertThat(editor.addDomain("one.test", "smtp.a.test", null)).isEqualTo("@one.test [smtp.a.test]:25");
        Files.write(editor.relayMapFile(), List.of("# my relays", "@ONE.test [old.test]:25", "  [continued.test]",
                "@two.test [smtp.b.test]:587", "# end"));
        editor.addDomain("One.Test", "[smtp.new.test]", "2525");
        assertThat(lines(ConfigLoader.RELAY_MAP_FILE)).containsExactly("# my relays", "@one.test [smtp.new.test]:2525",
                "@two.test [smtp.b.test]:587", "# end");
        editor.addDomain("three.test", "10.0.0.5", "587");
        assertThat(lines(ConfigLoader.RELAY_MAP_FILE)).endsWith("@three.test [10.0.0.5]:587");
        // The result is a valid table.
        assertThat(PostfixTable.read(editor.relayMapFile()).size()).isEqualTo(3);
    }

    @Test
    void excludeDomainReplacesAMappingWithTheOptOutLine() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        editor.addDomain("one.test", "smtp.a.test", "587");
        editor.excludeDomain("one.test");
        assertThat(lines(ConfigLoader.RELAY_MAP_FILE)).containsExactly("@one.test");
    }

    @Test
    void addAuthWritesAFileOnlyOwnerAndGroupReadAndKeepsColonsInPasswords() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        assertThat(editor.addAuth("one.test", "user", "p:a:ss")).isEqualTo("@one.test user:********");
        editor.addAuth("one.test", "user2", "second");
        assertThat(lines(ConfigLoader.SASL_PASSWORD_FILE)).containsExactly("@one.test user2:second");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(editor.saslPasswordFile())))
                .isEqualTo("rw-r-----");
    }

    @Test
    void anExistingFileKeepsItsMode() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        Files.write(editor.saslPasswordFile(), List.of("@one.test user:old"));
        Files.setPosixFilePermissions(editor.saslPasswordFile(), PosixFilePermissions.fromString("rw-r--r--"));
        editor.addAuth("two.test", "user", "pw");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(editor.saslPasswordFile())))
                .as("docker-mailserver writes it 0644 and reads it as another user: kept").isEqualTo("rw-r--r--");
        Files.setPosixFilePermissions(editor.saslPasswordFile(), PosixFilePermissions.fromString("rw-------"));
        editor.remove("two.test");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(editor.saslPasswordFile()))).isEqualTo("rw-------");
    }

    @Test
    void invalidArgumentsLeaveTheFileUntouched() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        editor.addDomain("one.test", "smtp.a.test", "587");
        byte[] before = Files.readAllBytes(editor.relayMapFile());
        assertThatThrownBy(() -> editor.addDomain("bad domain", "h.test", "25")).hasMessageContaining("invalid domain 'bad domain'");
        assertThatThrownBy(() -> editor.addDomain("one.test", "[[h.test]]", "25")).hasMessageContaining("invalid host");
        assertThatThrownBy(() -> editor.addDomain("one.test", "h .test", "25")).hasMessageContaining("invalid host");
        assertThatThrownBy(() -> editor.addDomain("one.test", "h.test", "0")).hasMessageContaining("invalid port '0'");
        assertThatThrownBy(() -> editor.addDomain("one.test", "h.test", "70000")).hasMessageContaining("invalid port");
        assertThatThrownBy(() -> editor.addAuth("one.test", "u", "")).hasMessage("Password must not be empty");
        assertThat(Files.readAllBytes(editor.relayMapFile())).isEqualTo(before);
        assertThat(editor.saslPasswordFile()).doesNotExist();
    }

    @Test
    void removeDropsTheDomainFromBothFiles() throws IOException {
        RelayFileEditor editor = new RelayFileEditor(dir);
        editor.addDomain("one.test", "smtp.a.test", "587");
        editor.addDomain("two.test", "smtp.b.test", "587");
        editor.addAuth("one.test", "u", "p");
        assertThat(editor.remove("@one.test")).isEqualTo(2);
        assertThat(lines(ConfigLoader.RELAY_MAP_FILE)).containsExactly("@two.test [smtp.b.test]:587");
        assertThat(lines(ConfigLoader.SASL_PASSWORD_FILE)).isEmpty();
        assertThat(editor.remove("one.test")).isZero();
    }
}
