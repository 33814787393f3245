package org.relaymta.server.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.MainCf;
import org.relaymta.config.internal.Param;
import org.relaymta.config.internal.ParamValues;
import org.relaymta.config.internal.Params;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.server.ServerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mta config}: like Postfix's {@code postconf -n}, the settings in force and where each
 * comes from (the environment, a {@code NAME__FILE}, a file and line, or the default with
 * {@code --all}), every setting of the {@link Params} table. Secrets are never shown: passwords and
 * tokens print as {@code ****}, tables as counts.
 */
@Command(name = "config", mixinStandardHelpOptions = true, subcommands = ConfigCommand.Check.class,
        description = "Show the settings in force and where each comes from (like postconf -n); secrets are masked.")
final class ConfigCommand implements Callable<Integer> {
    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Config directory (env MTA_CONFIG_DIR, default " + ServerSettings.DEFAULT_CONFIG + ").")
    Path configDir;

    @Option(names = "--all", description = "Also the settings left at their defaults (or derived from the others).")
    boolean all;

    @Override
    public Integer call() {
        Env env = Env.system();
        Path dir = configDir != null ? configDir : Path.of(env.get("MTA_CONFIG_DIR").orElse(ServerSettings.DEFAULT_CONFIG));
        ConfigLoader loader = new ConfigLoader(env, dir);
        RelayConfig cfg;
        try {
            cfg = loader.load();
        } catch (ConfigException e) {
            System.err.println("mta config: configuration error: " + e.getMessage());
            return 2;
        }
        cfg.warnings().forEach(w -> System.err.println("mta config: warning: " + w));
        ParamValues values = loader.values();
        StringBuilder out = new StringBuilder();
        for (Param<?> p : Params.all()) {
            values.origin(p).ifPresent(o -> line(out, values.nameSetBy(p), p.secret() ? "****" : o.text(), o.source()));
        }
        for (MainCf.Parameter p : loader.parameters()) {
            if (!ConfigLoader.supported(p.name())) {
                line(out, p.name(), p.value(), p.location() + " (unsupported: ignored)");
            }
        }
        if (all) {
            for (Param<?> p : Params.all()) {
                if (!values.isSet(p)) {
                    String derived = derived(cfg, p);
                    line(out, p.name(), p.secret() ? "****" : derived != null ? derived : p.defaultText(),
                            derived != null ? "not set: derived " + p.defaultText() : "not set: default");
                }
            }
        }
        out.append("# ").append(ConfigLoader.RELAY_MAP_FILE).append(": ").append(cfg.routing().senderRelayMap().size())
                .append(" entries; ").append(ConfigLoader.SASL_PASSWORD_FILE).append(" and RELAY_USER: ")
                .append(cfg.routing().credentials().size()).append(" credentials (passwords not shown); ")
                .append(ConfigLoader.ACCOUNTS_FILE).append(": ").append(cfg.listener().accounts().size()).append(" accounts\n");
        out.append("# outbound: ").append(cfg.outboundSummary()).append('\n');
        System.out.print(out);
        return 0;
    }

    /** The value in force of a setting whose default is derived from the others, or null for a plain default. */
    static String derived(RelayConfig cfg, Param<?> p) {
        if (p == Params.SMTP_TLS_SECURITY_LEVEL) {
            return cfg.routing().tlsLevel().postfixName();
        }
        if (p == Params.SMTP_SASL_AUTH_ENABLE) {
            return cfg.routing().saslEnabled() ? "yes" : "no";
        }
        if (p == Params.SMTP_SENDER_DEPENDENT_AUTHENTICATION) {
            return cfg.routing().senderDependentAuth() ? "yes" : "no";
        }
        if (p == Params.MYHOSTNAME) {
            return cfg.myhostname();
        }
        return null;
    }

    /**
     * {@code mta config check}: loads the configuration as {@code mta run} would and lists what is
     * wrong (an error, status 2) or will not do what it seems to (the warnings, status 1); 0 when clean.
     */
    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Check the configuration: errors (exit 2) and entries that can never be used (warnings, exit 1).")
    static final class Check implements Callable<Integer> {
        @Option(names = "--config-dir", paramLabel = "DIR",
                description = "Config directory (env MTA_CONFIG_DIR, default " + ServerSettings.DEFAULT_CONFIG + ").")
        Path configDir;

        @Override
        public Integer call() {
            Env env = Env.system();
            Path dir = configDir != null ? configDir : Path.of(env.get("MTA_CONFIG_DIR").orElse(ServerSettings.DEFAULT_CONFIG));
            RelayConfig cfg;
            try {
                cfg = new ConfigLoader(env, dir).load();
            } catch (ConfigException e) {
                System.out.println("error: " + e.getMessage());
                return 2;
            }
            cfg.warnings().forEach(w -> System.out.println("warning: " + w));
            if (cfg.warnings().isEmpty()) {
                System.out.println("ok: " + dir + " and the environment load without errors or warnings");
                return 0;
            }
            return 1;
        }
    }

    private static void line(StringBuilder out, String name, String value, String source) {
        String text = name + " = " + value;
        out.append(text).append(" ".repeat(Math.max(1, 48 - text.length()))).append("# ").append(source).append('\n');
    }

}
