package org.relaymta.server.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.relaymta.config.internal.Env;
import org.relaymta.core.internal.queue.QueueOperations;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolLock;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.ActionResult;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.server.ServerSettings;
import org.relaymta.server.admin.QueueJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * {@code mta queue}: Postfix's {@code mailq} / {@code postqueue} / {@code postsuper} for this relay.
 * Talks to the running relay's admin endpoint; when no relay answers there, works on the spool
 * directory directly (changes then take effect at the next start).
 */
@Command(name = "queue", mixinStandardHelpOptions = true,
        description = "Show and control the mail queue (of the running relay, or of the spool directory when none runs).",
        subcommands = {QueueCommand.ListCmd.class, QueueCommand.Flush.class, QueueCommand.Show.class,
                QueueCommand.Delete.class, QueueCommand.Hold.class, QueueCommand.Release.class, QueueCommand.Requeue.class})
final class QueueCommand implements Runnable {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Where to find the queue: the admin endpoint, else the spool directory. */
    abstract static class Target implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        AdminEndpoint endpoint;

        URI uri(String path) {
            return endpoint.uri(path);
        }

        /** The relay's answer, or empty when no relay listens there. */
        Optional<HttpResponse<String>> call(String method, String path) throws IOException, InterruptedException {
            return endpoint.call(method, path);
        }

        Path spoolDirectory() {
            return endpoint.spoolDirectory();
        }

        /**
         * The queue of the spool directory, when no relay answers: the same operations the relay runs,
         * under the spool's lock (held until this command exits), so nothing changes behind a relay's back.
         */
        QueueOperations offline() throws IOException {
            Path dir = spoolDirectory();
            if (!Files.isDirectory(dir.resolve("queue"))) {
                throw new IOException("no relay answers at " + uri("/") + " and " + dir + " is not a spool directory");
            }
            try {
                SpoolLock.acquire(dir);
            } catch (SpoolLock.InUseException e) {
                throw new IOException(e.getMessage() + ", which does not answer at " + uri("/")
                        + ": give its admin address with --admin HOST:PORT (nothing was changed)");
            }
            return QueueOperations.offline(Spool.openExisting(dir, Clock.systemUTC()), Clock.systemUTC());
        }

        @Override
        public Integer call() {
            try {
                return execute();
            } catch (IOException e) {
                System.err.println("mta queue: " + e.getMessage());
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            } catch (IllegalArgumentException e) {
                System.err.println("mta queue: " + e.getMessage());
                return 2;
            }
        }

        abstract int execute() throws IOException, InterruptedException;

        int print(HttpResponse<String> response) {
            if (response.statusCode() == 200) {
                System.out.print(response.body());
                return 0;
            }
            if (response.statusCode() == 401 || response.statusCode() == 403) {
                System.err.println("mta queue: the relay at " + uri("/") + " refused the request: " + response.body().strip()
                        + "; set MTA_ADMIN_TOKEN, or give the relay's spool with --spool-dir (its admin.token must be readable)");
                return 1;
            }
            System.err.print("mta queue: " + response.body());
            return response.statusCode() == 404 ? 1 : 2;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List queued messages (like mailq; --json like postqueue -j).")
    static final class ListCmd extends Target {
        @Option(names = "--json", description = "One JSON object per message, in the schema of Postfix's postqueue -j.")
        boolean json;

        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = call("GET", json ? "/queue" : "/queue?format=table");
            if (r.isPresent()) {
                return print(r.get());
            }
            QueueOperations queue = offline();
            Writer out = new BufferedWriter(new OutputStreamWriter(System.out,
                    StandardCharsets.UTF_8), 65536);
            if (json) {
                QueueJson.lines(queue::forEach, out);
            } else {
                QueueJson.table(queue::forEach, out);
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "flush", mixinStandardHelpOptions = true, description = "Try every deferred message now (postqueue -f).")
    static final class Flush extends Target {
        @Override
        int execute() throws IOException, InterruptedException {
            Optional<HttpResponse<String>> r = call("POST", "/queue/flush");
            if (r.isPresent()) {
                return print(r.get());
            }
            int n = offline().flush();
            System.out.println("{\"flushed\": " + n + "}");
            System.err.println("mta queue: no relay running: due at its next start");
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a message's envelope, status and content.")
    static final class Show extends Target {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        int execute() throws IOException, InterruptedException {
            checkId(id, false);
            Optional<HttpResponse<String>> r = call("GET", "/queue/" + id);
            if (r.isPresent()) {
                return print(r.get());
            }
            QueueOperations queue = offline();
            Optional<SpooledMessage> m = queue.message(id);
            if (m.isEmpty()) {
                System.err.println("mta queue: message " + id
                        + " is not in the queue (delivered, bounced, deleted, or never queued)");
                return 1;
            }
            System.out.print(QueueJson.showHeader(m.get()));
            try (InputStream in = queue.content(m.get())) {
                in.transferTo(System.out);
            }
            System.out.flush();
            return 0;
        }
    }

    /** delete / hold / release / requeue: one shape, the {@link QueueAction} says which. */
    abstract static class Action extends Target {
        private final QueueAction action;

        @Parameters(paramLabel = "ID|ALL", description = "A queue id, or ALL.")
        String id;

        Action(QueueAction action) {
            this.action = action;
        }

        @Override
        int execute() throws IOException, InterruptedException {
            checkId(id, true);
            Optional<HttpResponse<String>> r = call("POST", "/queue/" + id + "/" + action.label());
            if (r.isPresent()) {
                HttpResponse<String> response = r.get();
                if (response.statusCode() == 404 && response.body().startsWith("{")) {
                    System.out.print(response.body());
                    System.err.println("mta queue: message " + id + " is not in the queue");
                    return 1;
                }
                return print(response);
            }
            ActionResult result = offline().apply(action, id);
            System.out.println(result.json());
            System.err.println("mta queue: no relay running: spool changed directly");
            if (!result.notFound().isEmpty()) {
                System.err.println("mta queue: message " + id + " is not in the queue");
                return 1;
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete messages (postsuper -d).")
    static final class Delete extends Action {
        Delete() {
            super(QueueAction.DELETE);
        }
    }

    @Command(name = "hold", mixinStandardHelpOptions = true, description = "Put messages on hold (postsuper -h).")
    static final class Hold extends Action {
        Hold() {
            super(QueueAction.HOLD);
        }
    }

    @Command(name = "release", mixinStandardHelpOptions = true, description = "Release held messages (postsuper -H).")
    static final class Release extends Action {
        Release() {
            super(QueueAction.RELEASE);
        }
    }

    @Command(name = "requeue", mixinStandardHelpOptions = true,
            description = "Route messages again with the current configuration and try them now (postsuper -r).")
    static final class Requeue extends Action {
        Requeue() {
            super(QueueAction.REQUEUE);
        }
    }

    static void checkId(String id, boolean allowAll) {
        if ((allowAll && id.equals("ALL")) || id.matches("[0-9A-F]{16}")) {
            return;
        }
        throw new IllegalArgumentException("'" + id + "' is not a queue id" + (allowAll ? " or ALL" : ""));
    }
}
