package org.relaymta.server.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code mta shaping list|clear}: the shaping actions in force in the running relay (throttles and
 * suspensions that providers' replies started, relay-shaping.cf), and lifting them. They live in
 * the relay (and in Redis when shared), so a relay must answer.
 */
@Command(name = "shaping", mixinStandardHelpOptions = true,
        description = "Show and lift the throttles and suspensions providers' replies started (relay-shaping.cf).",
        subcommands = {ShapingCommand.ListCmd.class, ShapingCommand.Clear.class})
final class ShapingCommand extends CommandGroup {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The actions in force, as a table (--json: JSON lines).")
    static final class ListCmd extends AdminCall {
        @CommandLine.Option(names = "--json", description = "One JSON object per action.")
        boolean json;

        @Override
        String method() {
            return "GET";
        }

        @Override
        String path() {
            return json ? "/shaping" : "/shaping?format=table";
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true,
            description = "Lift the action on DESTINATION (as listed, e.g. '*.l.google.com'), or every action.")
    static final class Clear extends AdminCall {
        @Parameters(paramLabel = "DESTINATION", arity = "0..1")
        String destination;

        @Override
        String method() {
            return "POST";
        }

        @Override
        String path() {
            return "/shaping/clear" + (destination == null ? "" : "?destination="
                    + URLEncoder.encode(destination, StandardCharsets.UTF_8));
        }
    }
}
