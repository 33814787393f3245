package org.relaymta.server.cli;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.relaymta.core.internal.spool.SpoolLock;
import org.relaymta.core.internal.suppress.LocalSuppressions;
import org.relaymta.core.queue.Suppression;
import org.relaymta.server.admin.SuppressionJson;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mta suppress list|add|remove|export}: the suppression list of the running relay (through
 * its admin endpoint, so a shared list changes on every node), or of the spool directory when no
 * relay runs.
 */
@Command(name = "suppress", mixinStandardHelpOptions = true,
        description = "Show and change the suppression list (recipients mail is not sent to again).",
        subcommands = {SuppressCommand.ListCmd.class, SuppressCommand.Add.class, SuppressCommand.Remove.class,
                SuppressCommand.Export.class})
final class SuppressCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    abstract static class Target implements Callable<Integer> {
        @CommandLine.Mixin
        AdminEndpoint endpoint;

        /** The list in the spool directory, under its lock, when no relay answers (90 days for what is added). */
        LocalSuppressions offline() throws IOException {
            Path dir = endpoint.spoolDirectory();
            try {
                SpoolLock.acquire(dir);
            } catch (SpoolLock.InUseException e) {
                throw new IOException(e.getMessage() + ", which does not answer at " + endpoint.uri("/")
                        + ": give its admin address with --admin HOST:PORT (nothing was changed)");
            }
            return LocalSuppressions.open(dir, Clock.systemUTC(), () -> Duration.ofDays(90));
        }

        @Override
        public Integer call() {
            try {
                return execute();
            } catch (IOException e) {
                System.err.println("mta suppress: " + e.getMessage());
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            } catch (IllegalArgumentException e) {
                System.err.println("mta suppress: " + e.getMessage());
                return 2;
            }
        }

        abstract int execute() throws IOException, InterruptedException;

        int print(HttpResponse<String> r) {
            if (r.statusCode() == 200) {
                System.out.print(r.body());
                return 0;
            }
            if (r.statusCode() == 401 || r.statusCode() == 403) {
                System.err.println("mta suppress: the relay at " + endpoint.uri("/") + " refused the request: "
                        + r.body().strip() + "; set MTA_ADMIN_TOKEN, or give the relay's spool with --spool-dir");
                return 1;
            }
            System.err.print("mta suppress: " + r.body());
            return r.statusCode() == 404 ? 1 : 2;
        }

        static String encode(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The suppressed addresses, as a table.")
    static final class ListCmd extends Target {
        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = endpoint.call("GET", "/suppressions?format=table");
            if (r.isPresent()) {
                return print(r.get());
            }
            System.out.print(SuppressionJson.table(offline().list()));
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "The suppressed addresses as JSON lines (address, since, expires, reason).")
    static final class Export extends Target {
        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = endpoint.call("GET", "/suppressions");
            if (r.isPresent()) {
                return print(r.get());
            }
            System.out.print(SuppressionJson.lines(offline().list()));
            return 0;
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Suppress an address.")
    static final class Add extends Target {
        @Parameters(paramLabel = "ADDRESS")
        String address;

        @Option(names = "--reason", description = "Why (shown in the list and in the bounce), default operator.")
        String reason = "operator";

        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = endpoint.call("POST", "/suppressions/add?address=" + encode(address)
                    + "&reason=" + encode(reason));
            if (r.isPresent()) {
                return print(r.get());
            }
            Suppression s = offline().add(address, reason);
            System.out.print(SuppressionJson.lines(List.of(s)));
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "End an address's suppression.")
    static final class Remove extends Target {
        @Parameters(paramLabel = "ADDRESS")
        String address;

        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = endpoint.call("POST", "/suppressions/remove?address=" + encode(address));
            if (r.isPresent()) {
                return print(r.get());
            }
            boolean was = offline().remove(address);
            System.out.println("{\"removed\": " + was + "}");
            return was ? 0 : 1;
        }
    }
}
