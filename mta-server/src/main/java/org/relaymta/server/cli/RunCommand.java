package org.relaymta.server.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;
import org.relaymta.server.logging.RelayLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mta run}: start the relay and serve until stopped. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Start the relay: accept mail on the listener, spool it durably, deliver it.",
                "Routing comes from the docker-mailserver variables DEFAULT_RELAY_HOST, RELAY_HOST, RELAY_PORT, "
                        + "RELAY_USER and RELAY_PASSWORD, and from the config directory "
                        + "(postfix-relaymap.cf, postfix-sasl-password.cf, postfix-main.cf)."})
final class RunCommand implements Callable<Integer> {
    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Listener address (env MTA_LISTEN, default " + ServerSettings.DEFAULT_LISTEN + ").")
    String listen;

    @Option(names = "--spool-dir", paramLabel = "DIR",
            description = "Spool directory (env MTA_SPOOL_DIR, default " + ServerSettings.DEFAULT_SPOOL + ").")
    Path spoolDir;

    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Config directory, docker-mailserver layout (env MTA_CONFIG_DIR, default " + ServerSettings.DEFAULT_CONFIG + ").")
    Path configDir;

    @Option(names = "--admin-listen", paramLabel = "HOST:PORT",
            description = "Admin endpoint for 'mta queue', /health and /metrics (env MTA_ADMIN_LISTEN, default "
                    + ServerSettings.DEFAULT_ADMIN + "; 'off' disables it).")
    String adminListen;

    @Option(names = "--submission-listen", paramLabel = "HOST:PORT",
            description = "Also listen for authenticated submission (STARTTLS and AUTH required), e.g. 127.0.0.1:587 "
                    + "(env MTA_SUBMISSION_LISTEN; default off).")
    String submissionListen;

    @Option(names = "--smtps-listen", paramLabel = "HOST:PORT",
            description = "Also listen with implicit TLS and AUTH required, e.g. 0.0.0.0:465 (env MTA_SMTPS_LISTEN; default off).")
    String smtpsListen;

    @Option(names = "--dns", paramLabel = "HOST:PORT[,...]",
            description = "DNS servers for MX lookups (env MTA_DNS_SERVERS, default: /etc/resolv.conf).")
    String dns;

    @Option(names = "--log-format", paramLabel = "plain|postfix|json",
            description = "Log lines as today (plain), syslog style for Postfix's log tools (postfix, prefix from syslog_name), "
                    + "or one JSON object per line (env MTA_LOG_FORMAT, default plain). MTA_LOG_LEVEL sets the level.")
    String logFormat;

    @Override
    public Integer call() {
        Env env = Env.system();
        RelayServer server;
        RelayLog.Format format;
        Level level;
        try {
            format = RelayLog.parseFormat(logFormat != null ? logFormat : env.get("MTA_LOG_FORMAT").orElse(null),
                    RelayLog.Format.PLAIN);
            level = RelayLog.parseLevel(env.get("MTA_LOG_LEVEL").orElse(null), Level.INFO);
        } catch (IllegalArgumentException e) {
            System.err.println("mta: " + (logFormat != null ? "--log-format" : "MTA_LOG_FORMAT/MTA_LOG_LEVEL") + ": "
                    + e.getMessage());
            return 2;
        }
        try {
            ServerSettings settings = settings(env);
            ConfigLoader files = new ConfigLoader(env, settings.configDir());
            String syslogName = files.parameter("syslog_name").orElse("postfix");
            RelayLog.configure(format, level, syslogName, files.parameter("myhostname").or(() -> env.get("MTA_HOSTNAME"))
                    .orElse("localhost"));
            server = RelayServer.start(settings);
            RelayLog.configure(format, level, syslogName, server.config().myhostname());
        } catch (ConfigException e) {
            System.err.println("mta: configuration error: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            System.err.println("mta: cannot start: " + describe(e));
            return 1;
        }
        RelayConfig cfg = server.config();
        ServerSettings s = server.settings();
        String started = "mta " + MtaCommand.version() + " listening on " + hostPort(s.listen(), server.port())
                + ", spool " + s.spoolDir() + " (" + server.engine().queue().size() + " queued), config " + s.configDir()
                + (server.adminPort() > 0 ? ", admin " + hostPort(s.adminListen(), server.adminPort()) : "")
                + (s.submissionListen() != null ? ", submission " + hostPort(s.submissionListen(), s.submissionListen().getPort()) : "")
                + (s.smtpsListen() != null ? ", smtps " + hostPort(s.smtpsListen(), s.smtpsListen().getPort()) : "")
                + startedIn();
        String outbound = "outbound: " + cfg.outboundSummary();
        if (format == RelayLog.Format.JSON) {
            // One JSON object per line from the first: the start lines are log records too.
            Logger startLog = LoggerFactory.getLogger("org.relaymta.server");
            startLog.info("{}", started);
            startLog.info("{}", outbound);
        } else {
            System.out.println(started);
            System.out.println(outbound);
            System.out.flush();
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Logger log = LoggerFactory.getLogger("org.relaymta.server");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM / SIGINT: stop taking mail, finish or requeue deliveries in flight, QUIT cached sessions.
            log.info("stopping");
            server.close();
            log.info("stopped");
            stopped.countDown();
        }, "mta-shutdown"));
        reloadOnHangup(server);
        try {
            // Serve until SIGTERM / SIGINT: the shutdown hook closes the server.
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /**
     * SIGHUP reloads the configuration at once (what logrotate, systemd's ExecReload and Postfix
     * operators send); without a handler the JVM would exit on it.
     */
    @SuppressWarnings("restriction")
    private static void reloadOnHangup(RelayServer server) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                Thread t = new Thread(() -> server.configWatcher().reloadNow("SIGHUP"), "mta-reload");
                t.setDaemon(true);
                t.start();
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // no SIGHUP on this platform: the file watcher still reloads
        }
    }

    /** ", started in 0.84 s": from the process start (JVM start-up included) to listening. */
    private static String startedIn() {
        return ProcessHandle.current().info().startInstant()
                .map(t -> String.format(Locale.ROOT, ", started in %.2f s",
                        Duration.between(t, Instant.now()).toMillis() / 1000.0))
                .orElse("");
    }

    private ServerSettings settings(Env env) {
        String listenText = listen != null ? listen : env.get("MTA_LISTEN").orElse(ServerSettings.DEFAULT_LISTEN);
        InetSocketAddress address = ServerSettings.parseListen(listenText, listen != null ? "--listen" : "MTA_LISTEN");
        Path spool = spoolDir != null ? spoolDir : Path.of(env.get("MTA_SPOOL_DIR").orElse(ServerSettings.DEFAULT_SPOOL));
        Path config = configDir != null ? configDir : Path.of(env.get("MTA_CONFIG_DIR").orElse(ServerSettings.DEFAULT_CONFIG));
        String dnsText = dns != null ? dns : env.get("MTA_DNS_SERVERS").orElse("");
        List<InetSocketAddress> servers = dnsText.isBlank() ? List.of()
                : ServerSettings.parseDnsServers(dnsText, dns != null ? "--dns" : "MTA_DNS_SERVERS");
        int directPort = 25;
        if (env.get("MTA_DIRECT_PORT").isPresent()) {
            try {
                directPort = Integer.parseInt(env.get("MTA_DIRECT_PORT").get());
            } catch (NumberFormatException e) {
                throw new ConfigException("MTA_DIRECT_PORT", "'" + env.get("MTA_DIRECT_PORT").get() + "' is not a port number");
            }
        }
        String adminText = adminListen != null ? adminListen : env.get("MTA_ADMIN_LISTEN").orElse(ServerSettings.DEFAULT_ADMIN);
        InetSocketAddress admin = adminText.equalsIgnoreCase("off") ? null
                : ServerSettings.parseListen(adminText, adminListen != null ? "--admin-listen" : "MTA_ADMIN_LISTEN");
        String submissionText = submissionListen != null ? submissionListen : env.get("MTA_SUBMISSION_LISTEN").orElse("off");
        String smtpsText = smtpsListen != null ? smtpsListen : env.get("MTA_SMTPS_LISTEN").orElse("off");
        InetSocketAddress submission = submissionText.equalsIgnoreCase("off") ? null
                : ServerSettings.parseListen(submissionText, submissionListen != null ? "--submission-listen" : "MTA_SUBMISSION_LISTEN");
        InetSocketAddress smtps = smtpsText.equalsIgnoreCase("off") ? null
                : ServerSettings.parseListen(smtpsText, smtpsListen != null ? "--smtps-listen" : "MTA_SMTPS_LISTEN");
        return new ServerSettings(address, spool, config, env, servers, directPort, admin, submission, smtps);
    }

    private static String hostPort(InetSocketAddress a, int port) {
        String host = a.getAddress() == null ? "*" : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m;
    }
}
