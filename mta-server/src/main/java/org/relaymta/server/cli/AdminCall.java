package org.relaymta.server.cli;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/**
 * A subcommand that is one admin request to the running relay (state that lives only there:
 * shaping actions, spool takeover): prints the answer, or says why there is none.
 */
abstract class AdminCall implements Callable<Integer> {
    @CommandLine.Mixin
    AdminEndpoint endpoint;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The group as the user typed it, for messages ({@code mta shaping}). */
    String command() {
        return spec.parent() == null ? spec.qualifiedName() : spec.parent().qualifiedName();
    }

    abstract String method();

    abstract String path();

    @Override
    public Integer call() {
        try {
            Optional<HttpResponse<String>> r = endpoint.call(method(), path());
            if (r.isEmpty()) {
                System.err.println(command() + ": no relay answers at " + endpoint.uri("/") + "; this lives in the running "
                        + "relay: give its admin address with --admin HOST:PORT");
                return 1;
            }
            return print(r.get());
        } catch (IOException e) {
            System.err.println(command() + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private int print(HttpResponse<String> r) {
        if (r.statusCode() == 200) {
            System.out.print(r.body());
            return 0;
        }
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            System.err.println(command() + ": the relay at " + endpoint.uri("/") + " refused the request: " + r.body().strip()
                    + "; set MTA_ADMIN_TOKEN");
            return 1;
        }
        System.err.print(command() + ": " + r.body());
        return r.statusCode() == 404 ? 1 : 2;
    }
}
