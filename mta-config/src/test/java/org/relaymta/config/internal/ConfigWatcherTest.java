package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {
    @TempDir
    Path dir;

    @Test
    void validChangesApplyAndInvalidOnesKeepThePreviousSnapshot() throws IOException {
        Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [a.test]:25"));
        Env env = new Env(Map.of());
        ConfigLoader loader = new ConfigLoader(env, dir);
        AtomicReference<RelayConfig> current = new AtomicReference<>(loader.load());
        try (ConfigWatcher watcher = new ConfigWatcher(dir, env, loader::load, current::get, current::set)) {
            assertThat(watcher.checkNow()).isFalse();

            Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [b.test]:25"));
            assertThat(watcher.checkNow()).isTrue();
            assertThat(Router.route(current.get(), "x@one.test", "r@ext.test").nextHops().get(0).host()).isEqualTo("b.test");

            RelayConfig good = current.get();
            Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [c.test]:25", "@ONE.test [d.test]:25"));
            assertThat(watcher.checkNow()).isFalse();
            assertThat(current.get()).isSameAs(good);
            assertThat(watcher.failures()).isEqualTo(1);

            Files.writeString(dir.resolve("postfix-main.cf"), "message_size_limit = 5000\n");
            Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [c.test]:25"));
            assertThat(watcher.checkNow()).isTrue();
            assertThat(current.get().content().messageSizeLimit()).isEqualTo(5000);
            assertThat(watcher.reloads()).isEqualTo(2);
        }
    }
}
