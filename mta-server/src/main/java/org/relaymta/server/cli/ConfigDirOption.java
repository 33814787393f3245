package org.relaymta.server.cli;

import java.nio.file.Path;
import org.relaymta.config.Env;
import org.relaymta.server.ServerSettings;
import picocli.CommandLine.Option;

/** The {@code --config-dir} option shared by the commands that read the config directory. */
final class ConfigDirOption {
    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Config directory, docker-mailserver layout (env MTA_CONFIG_DIR, default " + ServerSettings.DEFAULT_CONFIG + ").")
    Path configDir;

    Path resolve(Env env) {
        return configDir != null ? configDir : Path.of(env.get("MTA_CONFIG_DIR").orElse(ServerSettings.DEFAULT_CONFIG));
    }
}
