package org.relaymta.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;

/**
 * An application embedding the relay, for {@link EventOutboxIT}: a named listener appends every
 * event it is handed to {@code events.txt}; in {@code send} mode it submits messages from 4 threads
 * and appends each acknowledged one to {@code acked.txt} until it is killed; in {@code drain} mode
 * it delivers what the spool holds and exits.
 */
public final class OutboxCrashApp {
    private OutboxCrashApp() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int upstream = Integer.parseInt(args[1]);
        String mode = args[2];
        FileChannel events = append(dir.resolve("events.txt"));
        RelayEngine relay = RelayEngine.builder().spoolDirectory(dir.resolve("spool"))
                .settings(RelaySettings.defaults().defaultRelayHost("[127.0.0.1]:" + upstream).hostname("app.test")
                        .backoff(Duration.ofSeconds(1), Duration.ofSeconds(2)))
                .listener("audit", e -> write(events, e.sequence() + " " + e.status().postfixName() + " " + e.queueId() + "\n"))
                .build().start();
        System.out.println("started");
        System.out.flush();
        if (mode.equals("drain")) {
            boolean empty = relay.queue().awaitEmpty(Duration.ofSeconds(60));
            relay.awaitListeners(Duration.ofSeconds(10));
            relay.close();
            System.exit(empty ? 0 : 3);
        }
        FileChannel acked = append(dir.resolve("acked.txt"));
        AtomicInteger n = new AtomicInteger();
        for (int t = 0; t < 4; t++) {
            Thread sender = new Thread(() -> {
                while (true) {
                    String subject = "outbox-" + n.incrementAndGet();
                    try {
                        String id = relay.submit("app@one.test", List.of("rcpt@ext.test"),
                                ("Subject: " + subject + "\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII)).get();
                        write(acked, subject + " " + id + "\n");
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            sender.start();
        }
        Thread.currentThread().join();   // until SIGKILL
    }

    private static FileChannel append(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** One write(2) per line: a SIGKILL leaves whole lines in the page cache, never half a line. */
    private static synchronized void write(FileChannel file, String line) {
        try {
            file.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
