package org.relaymta.server.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.relaymta.config.internal.Env;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;
import org.relaymta.server.admin.AdminAccess;
import picocli.CommandLine.Option;

/**
 * The running relay's admin endpoint as the commands reach it: {@code --admin} (or the address the
 * relay recorded in its spool), and the token from {@code MTA_ADMIN_TOKEN} or the spool directory.
 */
final class AdminEndpoint {
    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "Admin endpoint of the running relay (env MTA_ADMIN_LISTEN, default " + ServerSettings.DEFAULT_ADMIN + ").")
    String admin;

    @Option(names = "--spool-dir", paramLabel = "DIR",
            description = "Spool directory: where the running relay's admin token and address are, and the queue when no relay runs (env MTA_SPOOL_DIR, default " + ServerSettings.DEFAULT_SPOOL + ").")
    Path spoolDir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    URI uri(String path) {
        Env env = Env.system();
        String text = admin != null ? admin : env.get("MTA_ADMIN_LISTEN").or(this::recordedAdminAddress)
                .orElse(ServerSettings.DEFAULT_ADMIN);
        InetSocketAddress a = ServerSettings.parseListen(text, admin != null ? "--admin" : "MTA_ADMIN_LISTEN");
        String host = a.getAddress() == null || a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort() + path);
    }

    /** The admin address the relay on this spool wrote at its start, if any. */
    private Optional<String> recordedAdminAddress() {
        try {
            Path file = spoolDirectory().resolve(RelayServer.ADMIN_ADDRESS_FILE);
            return Files.isReadable(file) ? Optional.of(Files.readString(file).strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** MTA_ADMIN_TOKEN (or its __FILE), else the token the relay wrote into the spool directory. */
    private Optional<String> token() {
        Optional<String> configured = Env.system().get("MTA_ADMIN_TOKEN").map(String::strip).filter(t -> !t.isEmpty());
        if (configured.isPresent()) {
            return configured;
        }
        Path file = spoolDirectory().resolve(AdminAccess.TOKEN_FILE);
        try {
            return Files.isReadable(file) ? Optional.of(Files.readString(file).strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The relay's answer, or empty when no relay listens there. */
    Optional<HttpResponse<String>> call(String method, String path) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30));
        Optional<String> token = token();
        if (token.isPresent()) {
            b = b.header("Authorization", "Bearer " + token.get());
        }
        b = method.equals("POST") ? b.POST(HttpRequest.BodyPublishers.noBody()) : b.GET();
        try {
            return Optional.of(http.send(b.build(), HttpResponse.BodyHandlers.ofString()));
        } catch (ConnectException e) {
            return Optional.empty();
        }
    }

    Path spoolDirectory() {
        return spoolDir != null ? spoolDir : Path.of(Env.system().get("MTA_SPOOL_DIR").orElse(ServerSettings.DEFAULT_SPOOL));
    }
}
