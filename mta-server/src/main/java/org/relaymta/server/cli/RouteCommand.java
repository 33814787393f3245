package org.relaymta.server.cli;

import java.util.concurrent.Callable;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RouteReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mta route}: explain where mail from a sender goes, from the same inputs as {@code mta run}. */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = {"Explain the routing decision for a sender (and recipient): next hop, the rule that chose it, "
                + "credentials (user name only), TLS level. Reads the same variables and config directory as 'mta run'."})
final class RouteCommand implements Callable<Integer> {
    @Mixin
    ConfigDirOption configDir;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Parameters(index = "0", paramLabel = "SENDER", description = "Envelope sender address, or <> for the null sender.")
    String sender;

    @Parameters(index = "1", arity = "0..1", paramLabel = "RECIPIENT", description = "Recipient address.")
    String recipient;

    @Override
    public Integer call() {
        RelayConfig config = configDir.load();
        if (config == null) {
            return 2;
        }
        RouteReport report;
        try {
            report = RouteReport.explain(config, sender, recipient);
        } catch (IllegalArgumentException e) {
            System.err.println("mta route: " + e.getMessage());
            return 2;
        }
        for (String warning : config.warnings()) {
            System.err.println("mta: warning: " + warning);
        }
        System.out.println(json ? report.toJson() : report.toText());
        return 0;
    }
}
