package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

/** MTA_REDIS_URL, MTA_REDIS_PASSWORD(__FILE) and MTA_CLUSTER_NODES: what is read, and errors that never show the password. */
class ClusterSettingsTest {
    @TempDir
    Path dir;

    @Test
    void withoutARedisUrlTheNodeRunsAlone() {
        ClusterSettings s = ClusterSettings.from(new Env(Map.of()));
        assertThat(s.redis()).isEmpty();
        assertThat(s.nodes()).isEqualTo(1);
    }

    @Test
    void urlsGiveHostPortDatabaseTlsAndCredentials() {
        ClusterSettings s = ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "redis://relay:s%40cret@redis.internal:6380/2",
                "MTA_CLUSTER_NODES", "3")));
        ClusterSettings.Redis r = s.redis().orElseThrow();
        assertThat(r.host()).isEqualTo("redis.internal");
        assertThat(r.port()).isEqualTo(6380);
        assertThat(r.database()).isEqualTo(2);
        assertThat(r.tls()).isFalse();
        assertThat(r.user()).contains("relay");
        assertThat(r.password()).contains("s@cret");
        assertThat(s.nodes()).isEqualTo(3);
        assertThat(r.toString()).isEqualTo("redis://relay@redis.internal:6380/2 (with password)").doesNotContain("cret");

        ClusterSettings.Redis tls = ClusterSettings.parse("rediss://redis.example", Optional.empty());
        assertThat(tls.tls()).isTrue();
        assertThat(tls.port()).isEqualTo(6379);
        assertThat(tls.database()).isZero();
        assertThat(ClusterSettings.parse("redis://:pw@[::1]:7000", Optional.empty()))
                .satisfies(v -> {
                    assertThat(v.host()).isEqualTo("::1");
                    assertThat(v.user()).isEmpty();
                    assertThat(v.password()).contains("pw");
                });
    }

    @Test
    void thePasswordMayComeFromAFile() throws Exception {
        Path secret = Files.writeString(dir.resolve("redis-password"), "from-a-file\n");
        ClusterSettings s = ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "redis://redis:6379",
                "MTA_REDIS_PASSWORD__FILE", secret.toString())));
        assertThat(s.redis().orElseThrow().password()).contains("from-a-file");
    }

    @Test
    void badValuesNameTheVariableAndNeverThePassword() {
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "http://u:hunter2@redis:6379"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("MTA_REDIS_URL")
                .hasMessageContaining("redis:// or rediss://").message().doesNotContain("hunter2");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "redis://u:hunter2@redis:6379/x"))))
                .hasMessageContaining("database number").message().doesNotContain("hunter2");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "redis://u:hunter2@/0"))))
                .hasMessageContaining("MTA_REDIS_URL").message().doesNotContain("hunter2");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_REDIS_URL", "redis://:a@redis",
                "MTA_REDIS_PASSWORD", "b")))).hasMessageContaining("give it in one place");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_REDIS_PASSWORD", "b"))))
                .hasMessageContaining("MTA_REDIS_URL is not");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_CLUSTER_NODES", "0"))))
                .hasMessageContaining("MTA_CLUSTER_NODES").hasMessageContaining("'0'");
        assertThatThrownBy(() -> ClusterSettings.from(new Env(Map.of("MTA_CLUSTER_NODES", "three"))))
                .hasMessageContaining("node count");
    }
}
