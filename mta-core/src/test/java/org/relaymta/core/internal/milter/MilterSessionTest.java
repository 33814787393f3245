package org.relaymta.core.internal.milter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.MilterSettings;
import org.relaymta.core.internal.spool.HeaderField;
import org.relaymta.core.internal.spool.MemoryBudget;

/**
 * The milter protocol against a scripted milter, for what pymilter and opendkim in MilterIT do not
 * ask for: steps turned off, steps without replies, a skipped body, progress replies, and a milter
 * that stops answering.
 */
class MilterSessionTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final List<Character> seen = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    /**
     * A milter that negotiates {@code protocol} and answers each command with what {@code reply}
     * says (null: nothing); a "packet" made by {@link #raw} is written as it is, and the milter
     * then closes the connection.
     */
    private ServerSocket milter(int protocol, Function<Character, byte[][]> reply) throws IOException {
        ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (Socket s = server.accept()) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                while (true) {
                    int len = in.readInt();
                    char cmd = (char) in.readUnsignedByte();
                    in.readNBytes(len - 1);
                    seen.add(cmd);
                    if (cmd == 'O') {
                        send(out, 'O', ByteBuffer.allocate(12).putInt(6).putInt(0x1ff).putInt(protocol).array());
                        continue;
                    }
                    if (cmd == 'Q') {
                        return;
                    }
                    byte[][] packets = reply.apply(cmd);
                    if (packets != null) {
                        for (byte[] p : packets) {
                            if (p[0] == 0) {
                                out.write(p, 1, p.length - 1);
                                out.flush();
                                return;
                            }
                            send(out, (char) p[0], Arrays.copyOfRange(p, 1, p.length));
                        }
                    }
                }
            } catch (IOException done) {
                // the client closed
            }
        });
        t.setDaemon(true);
        t.start();
        return server;
    }

    private static void send(DataOutputStream out, char cmd, byte[] data) throws IOException {
        out.writeInt(1 + data.length);
        out.writeByte(cmd);
        out.write(data);
        out.flush();
    }

    private static byte[] packet(char cmd, String data) {
        byte[] d = data.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[d.length + 1];
        p[0] = (byte) cmd;
        System.arraycopy(d, 0, p, 1, d.length);
        return p;
    }

    /** What a milter's replacement body wrote, and how often a replacement began. */
    private final ByteArrayOutputStream replaced = new ByteArrayOutputStream();
    private int replacements;

    private MilterMessage message() {
        return message(10_240_000, null);
    }

    private MilterMessage message(long sizeLimit, MemoryBudget memory) {
        byte[] section = "From: a@b.test\r\nSubject: hi\r\n".getBytes(StandardCharsets.US_ASCII);
        List<HeaderField> headers = HeaderField.parse(section, section.length);
        return new MilterMessage("ID1", "relay.test", "192.0.2.1", null, "a@b.test", List.of("c@d.test"), headers,
                () -> new ByteArrayInputStream("line one\r\nline two\r\n".getBytes(StandardCharsets.US_ASCII)),
                () -> {
                    replacements++;
                    replaced.reset();
                    return replaced;
                }, sizeLimit, memory);
    }

    private MilterSettings settings(int port, Duration timeout) {
        MilterSettings d = MilterSettings.none();
        return new MilterSettings(MilterSettings.parseList("inet:127.0.0.1:" + port, "t"), List.of(), "tempfail", 6,
                timeout, timeout, timeout, d.macros());
    }

    @Test
    void stepsTheMilterTurnsOffAreNotSentAndNoReplyStepsAreNotWaitedFor() throws Exception {
        int protocol = MilterSession.NOCONNECT | MilterSession.NOHELO | MilterSession.NR_MAIL | MilterSession.NR_RCPT
                | MilterSession.NR_HDR | MilterSession.NOEOH;
        // Answers only DATA, the body and the end; a reply to a no-reply step would be read as the wrong answer.
        try (ServerSocket server = milter(protocol, cmd -> switch (cmd) {
            case 'T' -> new byte[][] {packet('p', ""), packet('c', "")};
            case 'B' -> new byte[][] {packet('s', "")};
            case 'E' -> new byte[][] {packet('h', "X-Seen\0yes\0"), packet('a', "")};
            default -> null;
        })) {
            MilterMessage m = message();
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), m, timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.ACCEPT);
            assertThat(m.headers()).extracting(HeaderField::name).containsExactly("From", "Subject", "X-Seen");
            // No 'C', 'H' or 'N'; one body chunk only after the skip. The milter's thread records the QUIT after the relay sent it.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!seen.contains('Q') && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(seen.stream().filter(c -> c != 'D').toList()).containsExactly('O', 'M', 'R', 'T', 'L', 'L', 'B', 'E', 'Q');
        }
    }

    @Test
    void aMilterThatStopsAnsweringCountsAsItsDefaultAction() throws Exception {
        try (ServerSocket server = milter(0, cmd -> null)) {
            long start = System.nanoTime();
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofMillis(300)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofMillis(300)), message(), timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.TEMPFAIL);
            assertThat(r.reply()).isEqualTo("451 4.7.1 Service unavailable - try again later");
            assertThat((System.nanoTime() - start) / 1_000_000).as("bounded by milter_command_timeout").isLessThan(3000);
        }
    }

    @Test
    void aReplyCodeAtTheEndIsGivenToTheClient() throws Exception {
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;   // macros are never answered
            case 'E' -> new byte[][] {packet('y', "554 5.7.1 Spam detected\0")};
            default -> new byte[][] {packet('c', "")};
        })) {
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), message(), timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.REJECT);
            assertThat(r.reply()).isEqualTo("554 5.7.1 Spam detected");
        }
    }

    private static byte[] body(int size) {
        byte[] p = new byte[size + 1];
        p[0] = 'b';
        Arrays.fill(p, 1, p.length, (byte) 'x');
        return p;
    }

    @Test
    void aReplacementBodyInManyLargePacketsIsStreamedNotCollected() throws Exception {
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> new byte[][] {body(1 << 20), body(1 << 20), body(1 << 20), packet('c', "")};
            default -> new byte[][] {packet('c', "")};
        })) {
            MilterMessage m = message(10_240_000, null);
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), m, timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.ACCEPT);
            assertThat(m.bodyReplaced()).isTrue();
            assertThat(replacements).as("one replacement, however many packets").isEqualTo(1);
            assertThat(replaced.size()).isEqualTo(3 << 20);
        }
    }

    @Test
    void aReplacementOverTheSizeLimitRefusesThatMessageWith552() throws Exception {
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> {
                byte[][] many = new byte[300][];
                Arrays.fill(many, body(1 << 20));
                yield many;
            }
            default -> new byte[][] {packet('c', "")};
        })) {
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), message(2 << 20, null), timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.REJECT);
            assertThat(r.reply()).isEqualTo("552 5.3.4 Error: message file too big");
            assertThat(replaced.size()).isLessThanOrEqualTo(2 << 20);
        }
    }

    @Test
    void aMilterThatDiesWhileReplacingTheBodyTempfailsWhateverTheDefaultAction() throws Exception {
        // One body packet, then a packet that announces 999 bytes, brings nine and closes.
        byte[] cut = ByteBuffer.allocate(15).put((byte) 0).putInt(1000).put((byte) 'b').put("cut short".getBytes(StandardCharsets.US_ASCII))
                .array();
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> new byte[][] {packet('b', "new body line\r\n"), cut};
            default -> new byte[][] {packet('c', "")};
        })) {
            MilterSettings accept = new MilterSettings(MilterSettings.parseList("inet:127.0.0.1:" + server.getLocalPort(), "t"),
                    List.of(), "accept", 6, Duration.ofSeconds(5), Duration.ofSeconds(5),
                    Duration.ofSeconds(5), MilterSettings.none().macros());
            Milters.Result r = Milters.run(accept.smtpd(), accept, message(), timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.TEMPFAIL);
            assertThat(r.reply()).isEqualTo("451 4.3.0 Error: a milter failed while replacing the body; try again later");
        }
    }

    @Test
    void aHeaderValueWithLineBreaksStaysOneFieldAndALargeHeaderPacketIsAProtocolError() throws Exception {
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> new byte[][] {packet('h', "X-Note\0first\r\nBcc: victim@ext.test\nthird\0"), packet('c', "")};
            default -> new byte[][] {packet('c', "")};
        })) {
            MilterMessage m = message();
            Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), m, timer);
            assertThat(m.headers()).extracting(HeaderField::name).containsExactly("From", "Subject", "X-Note");
            assertThat(new String(m.headers().get(2).raw(), StandardCharsets.UTF_8))
                    .isEqualTo("X-Note: first\r\n\tBcc: victim@ext.test\r\n\tthird\r\n");
        }
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> {
                byte[] big = body(MilterConnection.MAX_DATA + 10);
                big[0] = 'h';
                yield new byte[][] {big};
            }
            default -> new byte[][] {packet('c', "")};
        })) {
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), message(), timer);
            assertThat(r.decision()).as("milter_default_action tempfail").isEqualTo(Milters.Decision.TEMPFAIL);
        }
    }

    @Test
    void headerChangesBeyondTheMemoryBudgetTempfail() throws Exception {
        byte[][] many = new byte[40][];
        for (int i = 0; i < many.length; i++) {
            many[i] = packet('h', "X-Pad-" + i + "\0" + "v".repeat(8000) + "\0");
        }
        try (ServerSocket server = milter(0, cmd -> switch (cmd) {
            case 'D' -> null;
            case 'E' -> {
                byte[][] all = Arrays.copyOf(many, many.length + 1);
                all[many.length] = packet('c', "");
                yield all;
            }
            default -> new byte[][] {packet('c', "")};
        })) {
            MemoryBudget budget = new MemoryBudget(100_000);
            MilterMessage m = message(10_240_000, budget);
            Milters.Result r = Milters.run(settings(server.getLocalPort(), Duration.ofSeconds(5)).smtpd(),
                    settings(server.getLocalPort(), Duration.ofSeconds(5)), m, timer);
            assertThat(r.decision()).isEqualTo(Milters.Decision.TEMPFAIL);
            assertThat(r.reply()).startsWith("451 4.3.0 Error: insufficient memory");
            m.close();
            assertThat(budget.used()).as("given back").isZero();
        }
    }
}
