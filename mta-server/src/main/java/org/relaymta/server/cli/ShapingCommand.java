package org.relaymta.server.cli;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Callable;
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
final class ShapingCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    abstract static class Target implements Callable<Integer> {
        @CommandLine.Mixin
        AdminEndpoint endpoint;

        @Override
        public Integer call() {
            try {
                Optional<HttpResponse<String>> r = endpoint.call(method(), path());
                if (r.isEmpty()) {
                    System.err.println("mta shaping: no relay answers at " + endpoint.uri("/") + "; shaping actions live in the "
                            + "running relay: give its admin address with --admin HOST:PORT");
                    return 1;
                }
                return print(r.get());
            } catch (IOException e) {
                System.err.println("mta shaping: " + e.getMessage());
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }

        abstract String method();

        abstract String path();

        int print(HttpResponse<String> r) {
            if (r.statusCode() == 200) {
                System.out.print(r.body());
                return 0;
            }
            if (r.statusCode() == 401 || r.statusCode() == 403) {
                System.err.println("mta shaping: the relay at " + endpoint.uri("/") + " refused the request: "
                        + r.body().strip() + "; set MTA_ADMIN_TOKEN");
                return 1;
            }
            System.err.print("mta shaping: " + r.body());
            return r.statusCode() == 404 ? 1 : 2;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The actions in force, as a table (--json: JSON lines).")
    static final class ListCmd extends Target {
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
    static final class Clear extends Target {
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
