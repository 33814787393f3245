package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

class CredentialsFileTest {
    @TempDir
    Path dir;

    @Test
    void aCredentialsLineWithoutAKeyIsRefusedWithItsPlaceAndWithoutThePassword() throws Exception {
        Files.write(dir.resolve(ConfigLoader.SASL_PASSWORD_FILE), List.of("# relay credentials",
                "@one.test ua:pa", "alice@one.test:S3cretPassw0rd"));
        assertThatThrownBy(() -> new ConfigLoader(new Env(Map.of()), dir).load())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("postfix-sasl-password.cf:3")
                .hasMessageContaining("has no key")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(e.toString()).doesNotContain("S3cretPassw0rd"));
    }

    @Test
    void aValueWithoutAColonNamesTheKeyButNotTheValue() throws Exception {
        Files.write(dir.resolve(ConfigLoader.SASL_PASSWORD_FILE), List.of("@one.test JustAPasswordNoUser"));
        assertThatThrownBy(() -> new ConfigLoader(new Env(Map.of()), dir).load())
                .hasMessageContaining("postfix-sasl-password.cf:1")
                .hasMessageContaining("'@one.test' must be written as username:password")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(e.toString()).doesNotContain("JustAPasswordNoUser"));
    }
}
