package org.relaymta.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.relaymta.server.logging.RelayLog;
import org.relaymta.server.logging.RelayLogProvider;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code mta} command line. */
@Command(name = "mta",
        mixinStandardHelpOptions = true,
        versionProvider = MtaCommand.Version.class,
        description = "Relay MTA: an outbound mail relay compatible with Postfix's and docker-mailserver's relay settings.",
        subcommands = {RunCommand.class, RouteCommand.class, SetupCommand.class, QueueCommand.class, SuppressCommand.class,
                ShapingCommand.class, ClusterCommand.class,
                SendmailCommand.class, ConfigCommand.class,
                OAuth2Command.class,
                CommandLine.HelpCommand.class})
public final class MtaCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        // The relay's own log format for the mta process. Chosen here rather than by a
        // ServiceLoader entry, so that an application embedding mta-server keeps its own SLF4J backend.
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", RelayLogProvider.class.getName());
            System.setProperty("slf4j.internal.verbosity", "WARN");   // no "Attempting to load provider" line
        }
        if (args.length == 0 || !args[0].equals("run")) {
            // A command's output is its answer (JSON, tables, messages): its log lines go to stderr.
            RelayLog.toStandardError();
        }
        System.exit(new CommandLine(new MtaCommand()).execute(args));
    }

    /** The version from the build (Maven filters it into mta-version.properties). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"mta " + version()};
        }
    }

    static String version() {
        Properties p = new Properties();
        try (InputStream in = MtaCommand.class.getResourceAsStream("/mta-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException ignored) {
            // fall through to "unknown"
        }
        return p.getProperty("version", "unknown");
    }
}
