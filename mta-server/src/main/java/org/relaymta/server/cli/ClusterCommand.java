package org.relaymta.server.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code mta cluster status|handback}: spool takeover as the running relay sees it (this node, its
 * spool's generation, the spools it adopted, every lease), and handing an adopted spool back to its
 * returning owner at once.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "Spool takeover among relay nodes: show leases and adopted spools, hand a spool back.",
        subcommands = {ClusterCommand.Status.class, ClusterCommand.HandBack.class})
final class ClusterCommand extends CommandGroup {

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "This node, its spool and generation, the spools it adopted, and every lease (JSON).")
    static final class Status extends AdminCall {
        @Override
        String method() {
            return "GET";
        }

        @Override
        String path() {
            return "/cluster";
        }
    }

    @Command(name = "handback", mixinStandardHelpOptions = true,
            description = "The node running SPOOL (a node name) hands it back to its returning owner now, drained or not.")
    static final class HandBack extends AdminCall {
        @Parameters(paramLabel = "SPOOL")
        String spool;

        @Override
        String method() {
            return "POST";
        }

        @Override
        String path() {
            return "/cluster/handback?spool=" + URLEncoder.encode(spool, StandardCharsets.UTF_8);
        }
    }
}
