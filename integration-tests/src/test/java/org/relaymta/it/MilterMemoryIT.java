package org.relaymta.it;

import org.relaymta.testing.SmtpTestClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disclaimer-style milter (python3-milter) that sends every body back with a footer
 * (SMFIR_REPLBODY) must not be able to exhaust the relay's memory: the packaged relay runs with the
 * launcher's default JVM options (160 MiB heap), takes 30 messages of 9.5 MB at once through that
 * milter, and one message whose milter sends 300 MB back; the first are all accepted, delivered
 * with the footer, the second refused with 552, and the process's peak RSS stays under 256 MiB.
 */
class MilterMemoryIT {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final int MESSAGES = 30;
    private static final int BODY_BYTES = 9_500_000;
    static final String DISCLAIMER = """
            import sys, tempfile, Milter
            class Disclaimer(Milter.Base):
                def __init__(self):
                    self.flood = False
                    self.spool = tempfile.TemporaryFile()
                def header(self, name, value):
                    if name.lower() == 'subject' and 'flood' in value:
                        self.flood = True
                    return Milter.CONTINUE
                def body(self, chunk):
                    self.spool.write(chunk)
                    return Milter.CONTINUE
                def eom(self):
                    if self.flood:
                        mib = b'x' * 1048575 + b'\\n'
                        for i in range(300):
                            self.replacebody(mib)
                        return Milter.ACCEPT
                    self.spool.seek(0)
                    while True:
                        chunk = self.spool.read(65536)
                        if not chunk:
                            break
                        self.replacebody(chunk)
                    self.replacebody(b'-- \\r\\nSent through the disclaimer milter\\r\\n')
                    return Milter.ACCEPT
                def close(self):
                    self.spool.close()
                    return Milter.CONTINUE
            Milter.factory = Disclaimer
            Milter.set_flags(Milter.CHGBODY)
            print('ready', flush=True)
            Milter.runmilter('disclaimer', 'inet:%s@127.0.0.1' % sys.argv[1], 240)
            """;

    @TempDir
    Path temp;

    /** A sink that reads every message to its end, counting those that end with the footer; nothing is kept. */
    private static final class CountingSink implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        final AtomicInteger withFooter = new AtomicInteger();
        final AtomicInteger messages = new AtomicInteger();
        final ExecutorService threads = Executors.newCachedThreadPool();

        CountingSink() throws IOException {
            threads.execute(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        threads.execute(() -> serve(s));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s) {
            try (s) {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                OutputStream out = s.getOutputStream();
                out.write("220 sink.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
                String line;
                String last = "";
                boolean data = false;
                while ((line = in.readLine()) != null) {
                    if (data) {
                        if (line.equals(".")) {
                            data = false;
                            messages.incrementAndGet();
                            if (last.equals("Sent through the disclaimer milter")) {
                                withFooter.incrementAndGet();
                            }
                            out.write("250 2.0.0 Ok\r\n".getBytes(StandardCharsets.US_ASCII));
                        } else {
                            last = line;
                        }
                        continue;
                    }
                    String cmd = line.toUpperCase(Locale.ROOT);
                    String reply = cmd.startsWith("EHLO") ? "250-sink.test\r\n250 8BITMIME" : cmd.equals("DATA") ? "354 go"
                            : cmd.equals("QUIT") ? "221 bye" : "250 ok";
                    out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    data = cmd.equals("DATA");
                    if (cmd.equals("QUIT")) {
                        return;
                    }
                }
            } catch (IOException ignored) {
                // the relay closed the session
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            threads.shutdownNow();
        }
    }

    private static String send(int port, String subject) throws IOException {
        try (SmtpTestClient c = new SmtpTestClient(port)) {
            c.command("EHLO client.test");
            c.command("MAIL FROM:<app@example.com>");
            c.command("RCPT TO:<user@example.org>");
            byte[] head = ("From: app@example.com\r\nTo: user@example.org\r\nSubject: " + subject + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] line = ("y".repeat(98) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] message = Arrays.copyOf(head, head.length + BODY_BYTES);
            for (int at = head.length; at + line.length <= message.length; at += line.length) {
                System.arraycopy(line, 0, message, at, line.length);
            }
            message[message.length - 2] = '\r';
            message[message.length - 1] = '\n';
            return c.data(message);
        }
    }

    @Test
    void aBodyReplacingMilterCannotExhaustTheRelaysMemory() throws Exception {
        assumeTrue(MilterIT.available("Milter"), "python3-milter (Debian) is needed; .ci/run installs it");
        int milterPort = RelayHarness.freePort();
        Path script = temp.resolve("disclaimer.py");
        Files.writeString(script, DISCLAIMER);
        Process milter = new ProcessBuilder(PYTHON.toString(), script.toString(), String.valueOf(milterPort))
                .redirectErrorStream(true).start();
        assertThat(new BufferedReader(new InputStreamReader(milter.getInputStream(), StandardCharsets.UTF_8)).readLine())
                .isEqualTo("ready");
        MilterIT.awaitListening(milterPort);
        Files.createDirectories(temp.resolve("config"));
        Files.writeString(temp.resolve("config/postfix-main.cf"), "myhostname = relay.test\nsmtpd_milters = inet:127.0.0.1:"
                + milterPort + "\nmilter_content_timeout = 120s\n");
        Path log = temp.resolve("relay.log");
        int port = RelayHarness.freePort();
        try (CountingSink sink = new CountingSink()) {
            Process relay = MtaProcessIT.mtaWithLauncherOptions(temp, Map.of("MTA_LISTEN", "127.0.0.1:" + port,
                    "MTA_ADMIN_LISTEN", "off", "DEFAULT_RELAY_HOST", "[127.0.0.1]:" + sink.server.getLocalPort()), "run")
                    .redirectOutput(log.toFile()).start();
            ConcurrentLinkedQueue<Long> peaks = new ConcurrentLinkedQueue<>();
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (!(Files.exists(log) && Files.readString(log).contains("outbound:")) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                ExecutorService clients = Executors.newFixedThreadPool(MESSAGES + 1);
                List<Future<String>> replies = new ArrayList<>();
                for (int i = 0; i < MESSAGES; i++) {
                    int n = i;
                    replies.add(clients.submit(() -> send(port, "large " + n)));
                }
                Future<String> flood = clients.submit(() -> send(port, "flood"));
                for (Future<String> r : replies) {
                    assertThat(r.get(5, TimeUnit.MINUTES)).as(Files.readString(log)).startsWith("250 2.0.0 Ok: queued as");
                }
                assertThat(flood.get(5, TimeUnit.MINUTES)).isEqualTo("552 5.3.4 Error: message file too big");
                clients.shutdown();
                deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (sink.messages.get() < MESSAGES && System.nanoTime() < deadline && relay.isAlive()) {
                    Thread.sleep(100);
                }
                assertThat(relay.isAlive()).as("the relay is still running").isTrue();
                assertThat(sink.withFooter.get()).as("delivered with the milter's footer").isEqualTo(MESSAGES);
                peaks.add(peakRssKiB(relay.pid()));
            } finally {
                relay.destroy();
                relay.waitFor(20, TimeUnit.SECONDS);
                milter.destroy();
            }
            String text = Files.readString(log);
            assertThat(text).doesNotContain("OutOfMemoryError", "Cannot reserve");
            long peakMiB = peaks.peek() / 1024;
            System.out.println("MilterMemoryIT: peak RSS " + peakMiB + " MiB for " + MESSAGES + " x " + BODY_BYTES
                    + " bytes through a body-replacing milter");
            assertThat(peakMiB).as("peak RSS (VmHWM) of the relay process").isLessThan(256);
        }
    }

    /** The process's peak resident set (VmHWM), in KiB. */
    static long peakRssKiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmHWM for " + pid);
    }
}
