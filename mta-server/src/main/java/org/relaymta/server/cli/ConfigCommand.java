package org.relaymta.server.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.MainCf;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.server.ServerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mta config}: like Postfix's {@code postconf -n}, the settings in force and where each
 * comes from (the environment, a file and line, or the default with {@code --all}). Secrets are
 * never shown: passwords and tokens print as {@code ****}, tables as counts.
 */
@Command(name = "config", mixinStandardHelpOptions = true, subcommands = ConfigCommand.Check.class,
        description = "Show the settings in force and where each comes from (like postconf -n); secrets are masked.")
final class ConfigCommand implements Callable<Integer> {
    /** The variables the relay reads, in the order a reader looks for them. */
    static final List<String> VARIABLES = List.of("DEFAULT_RELAY_HOST", "RELAY_HOST", "RELAY_PORT", "RELAY_USER",
            "RELAY_PASSWORD", "LOCAL_SENDER_DOMAINS", "SPOOF_PROTECTION", "MTA_LISTEN", "MTA_SUBMISSION_LISTEN", "MTA_SMTPS_LISTEN",
            "MTA_ADMIN_LISTEN", "MTA_ADMIN_TOKEN", "MTA_SPOOL_DIR", "MTA_CONFIG_DIR", "MTA_DNS_SERVERS", "MTA_MYNETWORKS",
            "MTA_DIRECT_PORT", "MTA_HOSTNAME", "MTA_TLS_CERT", "MTA_TLS_KEY", "MTA_LOG_FORMAT", "MTA_LOG_LEVEL");
    private static final Set<String> SECRETS = Set.of("RELAY_PASSWORD", "MTA_ADMIN_TOKEN");

    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Config directory (env MTA_CONFIG_DIR, default " + ServerSettings.DEFAULT_CONFIG + ").")
    Path configDir;

    @Option(names = "--all", description = "Also the postfix-main.cf parameters left at their defaults.")
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
        StringBuilder out = new StringBuilder();
        for (String name : VARIABLES) {
            if (System.getenv(name + "__FILE") != null) {
                line(out, name, SECRETS.contains(name) ? "****" : env.get(name).orElse(""),
                        "environment, read from " + System.getenv(name + "__FILE") + " (" + name + "__FILE)");
            } else if (System.getenv(name) != null) {
                line(out, name, SECRETS.contains(name) ? "****" : System.getenv(name), "environment");
            }
        }
        Map<String, String> written = new LinkedHashMap<>();
        for (MainCf.Parameter p : loader.parameters()) {
            written.put(p.name(), p.value());
            line(out, p.name(), p.value(), p.location() + (ConfigLoader.supported(p.name()) ? "" : " (unsupported: ignored)"));
        }
        if (all) {
            effective(cfg).forEach((name, value) -> {
                if (!written.containsKey(name)) {
                    line(out, name, value, "not set: in force (default, or derived from the settings above)");
                }
            });
        }
        out.append("# ").append(ConfigLoader.RELAY_MAP_FILE).append(": ").append(cfg.senderRelayMap().size())
                .append(" entries; ").append(ConfigLoader.SASL_PASSWORD_FILE).append(" and RELAY_USER: ")
                .append(cfg.credentials().size()).append(" credentials (passwords not shown); ")
                .append(ConfigLoader.ACCOUNTS_FILE).append(": ").append(cfg.accounts().size()).append(" accounts\n");
        out.append("# outbound: ").append(cfg.outboundSummary()).append('\n');
        System.out.print(out);
        return 0;
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

    /** The parameters in force, as postfix-main.cf would write them. */
    static Map<String, String> effective(RelayConfig cfg) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("myhostname", cfg.myhostname());
        m.put("mynetworks", cfg.mynetworks().toString());
        m.put("relayhost", cfg.defaultRelayText().orElse(""));
        m.put("smtp_tls_security_level", cfg.tlsLevel().postfixName());
        m.put("smtp_tls_wrappermode", cfg.wrapperMode() ? "yes" : "no");
        m.put("message_size_limit", Long.toString(cfg.messageSizeLimit()));
        m.put("queue_run_delay", seconds(cfg.queue().queueRunDelay()));
        m.put("minimal_backoff_time", seconds(cfg.queue().minimalBackoffTime()));
        m.put("maximal_backoff_time", seconds(cfg.queue().maximalBackoffTime()));
        m.put("maximal_queue_lifetime", seconds(cfg.queue().maximalQueueLifetime()));
        m.put("bounce_queue_lifetime", seconds(cfg.queue().bounceQueueLifetime()));
        m.put("delay_warning_time", seconds(cfg.queue().delayWarningTime()));
        m.put("default_destination_concurrency_limit", Integer.toString(cfg.queue().destinationConcurrencyLimit()));
        m.put("default_destination_recipient_limit", Integer.toString(cfg.queue().destinationRecipientLimit()));
        m.put("bounce_size_limit", Long.toString(cfg.queue().bounceSizeLimit()));
        m.put("queue_minfree", Long.toString(cfg.queue().queueMinfree()));
        m.put("smtp_connect_timeout", seconds(cfg.smtp().connectTimeout()));
        m.put("smtp_helo_timeout", seconds(cfg.smtp().heloTimeout()));
        m.put("smtp_mail_timeout", seconds(cfg.smtp().mailTimeout()));
        m.put("smtp_rcpt_timeout", seconds(cfg.smtp().rcptTimeout()));
        m.put("smtp_starttls_timeout", seconds(cfg.smtp().starttlsTimeout()));
        m.put("smtp_data_init_timeout", seconds(cfg.smtp().dataInitTimeout()));
        m.put("smtp_data_xfer_timeout", seconds(cfg.smtp().dataXferTimeout()));
        m.put("smtp_data_done_timeout", seconds(cfg.smtp().dataDoneTimeout()));
        m.put("smtp_quit_timeout", seconds(cfg.smtp().quitTimeout()));
        m.put("smtp_connection_cache_time_limit", seconds(cfg.smtp().connectionCacheTimeLimit()));
        m.put("smtp_line_length_limit", Integer.toString(cfg.smtp().lineLengthLimit()));
        m.put("smtp_sasl_mechanism_filter", String.join(", ", cfg.smtp().saslMechanismFilter()));
        return m;
    }

    private static String seconds(Duration d) {
        return d.toSeconds() + "s";
    }
}
