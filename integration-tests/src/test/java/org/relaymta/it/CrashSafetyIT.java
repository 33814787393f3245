package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * SIGKILL while the relay accepts and delivers a stream of messages; after a restart on the same
 * spool, every message that got a 250 reaches the upstream at least once.
 */
class CrashSafetyIT {
    @TempDir
    Path temp;

    private Process startRelay(int listenPort, int upstreamPort) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort);
        env.put("MTA_LISTEN", "127.0.0.1:" + listenPort);
        env.put("MTA_ADMIN_LISTEN", "off");
        Process p = MtaProcessIT.mta(temp, env, "run").redirectOutput(ProcessBuilder.Redirect.appendTo(
                temp.resolve("relay.log").toFile())).start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(temp.resolve("relay.log")) && Files.readString(temp.resolve("relay.log")).contains("outbound:")
                    && portOpen(listenPort)) {
                return p;
            }
            assertThat(p.isAlive()).as("relay starts: " + Files.readString(temp.resolve("relay.log"))).isTrue();
            Thread.sleep(50);
        }
        throw new AssertionError("relay did not start");
    }

    private static boolean portOpen(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void everyAcknowledgedMessageArrivesAfterAKillDashNine() throws Exception {
        int upstreamPort = RelayHarness.freePort();
        int listenPort = RelayHarness.freePort();
        // A slow upstream, so that a backlog is queued and deliveries are in flight at the kill.
        Wiser wiser = Wiser.accepter((from, to) -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }).port(upstreamPort);
        wiser.start();
        Files.createDirectories(temp.resolve("config"));
        Files.writeString(temp.resolve("config/postfix-main.cf"), "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n");
        try {
            Process relay = startRelay(listenPort, upstreamPort);
            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> senders = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                Thread sender = new Thread(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        String subject = "crash-" + thread + "-" + n++;
                        try (SmtpTestClient c = new SmtpTestClient(listenPort)) {
                            c.command("EHLO client.test");
                            String reply = c.send("a@one.test", "b@ext.test", "Subject: " + subject + "\r\n\r\n"
                                    + "payload line\r\n".repeat(40));
                            if (reply.startsWith("250")) {
                                acknowledged.add(subject);
                            }
                        } catch (Exception e) {
                            return; // the relay is gone
                        }
                    }
                });
                sender.start();
                senders.add(sender);
            }
            long deadline = System.currentTimeMillis() + 20_000;
            while (acknowledged.size() < 300 && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            relay.destroyForcibly(); // SIGKILL
            assertThat(relay.waitFor(10, TimeUnit.SECONDS)).isTrue();
            stop.set(true);
            for (Thread s : senders) {
                s.join(10_000);
            }
            int deliveredBeforeKill = wiser.getMessages().size();
            assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(300);

            Process restarted = startRelay(listenPort, upstreamPort);
            try {
                deadline = System.currentTimeMillis() + 60_000;
                Map<String, Integer> arrivals;
                while (true) {
                    arrivals = countSubjects(wiser.getMessages());
                    if (arrivals.keySet().containsAll(acknowledged) || System.currentTimeMillis() > deadline) {
                        break;
                    }
                    Thread.sleep(100);
                }
                Set<String> missing = new TreeSet<>(acknowledged);
                missing.removeAll(arrivals.keySet());
                assertThat(missing).as("acknowledged messages that never arrived").isEmpty();
                long duplicates = arrivals.values().stream().filter(c -> c > 1).count();
                System.out.printf("crash test: %d acknowledged, %d delivered before SIGKILL, %d distinct delivered, "
                        + "%d arrived twice%n", acknowledged.size(), deliveredBeforeKill, arrivals.size(), duplicates);
                // Only messages in flight at the kill can be repeated: at most the delivery concurrency.
                assertThat(duplicates).isLessThanOrEqualTo(20);
            } finally {
                restarted.destroy();
                restarted.waitFor(20, TimeUnit.SECONDS);
            }
        } finally {
            wiser.stop();
        }
    }

    private static Map<String, Integer> countSubjects(List<WiserMessage> messages) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (WiserMessage m : new ArrayList<>(messages)) {
            counts.merge(m.getMimeMessage().getSubject(), 1, Integer::sum);
        }
        return counts;
    }
}
