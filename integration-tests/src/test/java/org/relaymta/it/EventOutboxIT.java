package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * The durable event outbox against SIGKILL: an application with a named listener submits messages
 * while the relay delivers them to a slow upstream, and is killed. Restarted on the same spool, the
 * listener goes on from its saved position: every acknowledged message gets its {@code sent} event,
 * every message the upstream received has one, and no event the listener had been handed comes again
 * with another sequence (at least once, never renumbered).
 */
class EventOutboxIT {
    @TempDir
    Path dir;

    private Process app(int upstream, String mode) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), OutboxCrashApp.class.getName(),
                dir.toString(), String.valueOf(upstream), mode)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("started")) {
            // its log lines
        }
        assertThat(line).as("the application started").isEqualTo("started");
        Thread drain = new Thread(() -> {
            try {
                out.transferTo(Writer.nullWriter());
            } catch (Exception ignored) {
                // the process is gone
            }
        });
        drain.setDaemon(true);
        drain.start();
        return p;
    }

    @Test
    void aNamedListenerGetsEveryEventOfEveryMessageAcrossAKillDashNine() throws Exception {
        int port = RelayHarness.freePort();
        Wiser wiser = Wiser.accepter((from, to) -> {
            try {
                Thread.sleep(20);   // deliveries in flight at the kill
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }).port(port);
        wiser.start();
        try {
            Process sending = app(port, "send");
            Path acked = dir.resolve("acked.txt");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((lines(acked).size() < 300 || wiser.getMessages().size() < 20) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            int deliveredBefore = wiser.getMessages().size();
            sending.destroyForcibly();
            assertThat(sending.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(deliveredBefore).as("deliveries had begun before the kill").isPositive();
            List<String> eventsBefore = lines(dir.resolve("events.txt"));

            Process draining = app(port, "drain");
            assertThat(draining.waitFor(90, TimeUnit.SECONDS)).as("the restarted relay drains its spool").isTrue();
            assertThat(draining.exitValue()).isZero();

            Map<String, String> idBySubject = new HashMap<>();
            for (String l : lines(acked)) {
                String[] p = l.split(" ");
                idBySubject.put(p[0], p[1]);
            }
            Map<Long, String> bySequence = new HashMap<>();
            Set<String> sent = new HashSet<>();
            int repeated = 0;
            for (String l : lines(dir.resolve("events.txt"))) {
                String[] p = l.split(" ");
                String previous = bySequence.put(Long.parseLong(p[0]), p[1] + " " + p[2]);
                if (previous != null) {
                    assertThat(previous).as("an event handed over again is the same event").isEqualTo(p[1] + " " + p[2]);
                    repeated++;
                }
                if (p[1].equals("sent")) {
                    sent.add(p[2]);
                }
            }
            Set<String> noEvent = new TreeSet<>(idBySubject.values());
            noEvent.removeAll(sent);
            assertThat(noEvent).as("acknowledged messages without a sent event").isEmpty();
            Set<String> deliveredWithoutEvent = new TreeSet<>();
            for (WiserMessage m : List.copyOf(wiser.getMessages())) {
                String id = idBySubject.get(m.getMimeMessage().getSubject());
                if (id != null && !sent.contains(id)) {
                    deliveredWithoutEvent.add(id);
                }
            }
            assertThat(deliveredWithoutEvent).as("delivered, yet no sent event").isEmpty();
            System.out.printf("outbox crash test: %d acknowledged, %d delivered before SIGKILL, %d events handed over "
                    + "before it, %d handed over again after the restart%n", idBySubject.size(), deliveredBefore,
                    eventsBefore.size(), repeated);
        } finally {
            wiser.stop();
        }
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.US_ASCII).stream()
                .filter(l -> !l.isBlank() && l.endsWith(l.strip())).toList() : List.of();
    }
}
