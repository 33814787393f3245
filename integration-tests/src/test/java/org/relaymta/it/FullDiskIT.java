package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * The spool on a small tmpfs that fills up (needs root to mount it; skipped otherwise): mail is
 * refused at MAIL while there is no room, a message that meets a full disk during DATA gets 451,
 * and once space is back the relay takes mail again without a restart and loses nothing it
 * acknowledged.
 */
class FullDiskIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    @Test
    void aFullSpoolRefusesAtMailAndTakesMailAgainOnceSpaceIsBack() throws Exception {
        Path fs = temp.resolve("fs");
        Files.createDirectories(fs);
        boolean mounted = "root".equals(System.getProperty("user.name"))
                && new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", fs.toString())
                .inheritIO().start().waitFor() == 0;
        assumeTrue(mounted, "mounting a small tmpfs needs root: full-disk test skipped");
        int upstreamPort = RelayHarness.freePort();
        Path filler = fs.resolve("filler");
        Wiser upstream = Wiser.port(upstreamPort);
        HttpClient http = HttpClient.newHttpClient();
        try (RelayHarness relay = new RelayHarness(fs).mainCf("message_size_limit = 300000")
                .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort).start();
             SmtpTestClient client = relay.client()) {
            URI health = URI.create("http://127.0.0.1:" + relay.server.adminPort() + "/health");
            List<String> acknowledged = new ArrayList<>();
            // The upstream is down: accepted mail waits in the spool.
            for (int i = 0; i < 3; i++) {
                acknowledged.add(accept(client, "Subject: before " + i + "\r\n\r\n" + "a".repeat(20000) + "\r\n"));
            }

            fill(filler);
            assertThat(client.command("MAIL FROM:<alice@one.test>")).isEqualTo("452 4.3.1 Insufficient system storage");
            assertThat(status(http, health)).isEqualTo(503);

            Files.delete(filler);
            assertThat(awaitStatus(http, health, 200)).as("/health recovers without a restart").isTrue();
            acknowledged.add(accept(client, "Subject: after space came back\r\n\r\nb\r\n"));

            // Space runs out between MAIL and the end of DATA: 451 after the whole body, session still in step.
            assertThat(client.command("MAIL FROM:<alice@one.test>")).startsWith("250");
            assertThat(client.command("RCPT TO:<bob@ext.test>")).startsWith("250");
            fill(filler);
            assertThat(client.data(("Subject: too late\r\n\r\n" + "c".repeat(100000) + "\r\n").getBytes()))
                    .startsWith("451 4.3.0");
            assertThat(client.command("NOOP")).startsWith("250");
            Files.delete(filler);
            assertThat(awaitStatus(http, health, 200)).isTrue();
            acknowledged.add(accept(client, "Subject: journal takes mail again\r\n\r\nd\r\n"));

            upstream.start();
            relay.server.engine().queue().flush();
            assertThat(relay.server.engine().queue().awaitEmpty(WAIT)).isTrue();
            Set<String> subjects = new HashSet<>();
            for (WiserMessage m : upstream.getMessages()) {
                subjects.add(m.getMimeMessage().getSubject());
            }
            assertThat(subjects).as("every acknowledged message delivered, the refused one not")
                    .containsExactlyInAnyOrder("before 0", "before 1", "before 2", "after space came back",
                            "journal takes mail again");
            assertThat(acknowledged).hasSize(5);
            relay.events.removeIf(e -> e.status() != DeliveryEvent.Status.SENT);
        } finally {
            upstream.stop();
            new ProcessBuilder("umount", "-l", fs.toString()).inheritIO().start().waitFor();
        }
    }

    private static String accept(SmtpTestClient client, String content) throws IOException {
        String reply = client.send("alice@one.test", "bob@ext.test", content);
        assertThat(reply).startsWith("250 2.0.0 Ok: queued as ");
        return reply.substring("250 2.0.0 Ok: queued as ".length()).trim();
    }

    /** Writes to {@code file} until the file system is full. */
    private static void fill(Path file) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // No space left: that was the point.
        }
    }

    private static int status(HttpClient http, URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Polls /health as a load balancer would, for up to 10 s. */
    private static boolean awaitStatus(HttpClient http, URI uri, int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (status(http, uri) == expected) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }
}
