package org.relaymta.server.smtp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;

/** Test helpers: a configuration loaded from postfix-main.cf lines, and a clock the test moves. */
final class ListenerTestConfig {
    private ListenerTestConfig() {
    }

    static RelayConfig load(Path dir, String... mainCf) {
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve("postfix-main.cf"), List.of(mainCf));
            return new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[relay.test]:25")), dir).load();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
