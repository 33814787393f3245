package org.relaymta.server.cli;

import java.nio.file.Path;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;
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

    /**
     * The configuration as {@code mta run} would load it from the process environment, or null
     * after the error was printed (the command then exits 2).
     */
    /** The configuration here, or null without a word when it does not load (a view that only adds to another). */
    RelayConfig loadQuietly() {
        try {
            return new ConfigLoader(Env.system(), resolve(Env.system())).load();
        } catch (ConfigException e) {
            return null;
        }
    }

    RelayConfig load() {
        Env env = Env.system();
        try {
            return new ConfigLoader(env, resolve(env)).load();
        } catch (ConfigException e) {
            System.err.println("mta: configuration error: " + e.getMessage());
            return null;
        }
    }
}
