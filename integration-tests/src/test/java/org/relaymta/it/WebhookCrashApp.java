package org.relaymta.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.internal.EngineAccess;

/**
 * An application embedding the relay with a webhook sink configured in its config directory, for
 * {@link WebhookCrashIT}: in {@code send} mode it submits messages from 4 threads, up to a total
 * across runs, appending each acknowledged one to {@code acked.txt}, until it is killed; in {@code
 * drain} mode it delivers what the spool holds, waits until every consumer (the webhook too) has
 * every event, and exits.
 */
public final class WebhookCrashApp {
    private WebhookCrashApp() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String mode = args[1];
        int total = Integer.parseInt(args[2]);
        RelayEngine relay = RelayEngine.builder().spoolDirectory(dir.resolve("spool"))
                .configDirectory(dir.resolve("config"), Map.of()).build().start();
        System.out.println("started");
        System.out.flush();
        if (mode.equals("drain")) {
            boolean empty = relay.queue().awaitEmpty(Duration.ofSeconds(120));
            boolean told = EngineAccess.internals(relay).events().awaitAll(Duration.ofSeconds(120));
            relay.close();
            System.exit(empty && told ? 0 : 3);
        }
        Path ackedFile = dir.resolve("acked.txt");
        AtomicInteger n = new AtomicInteger(Files.exists(ackedFile) ? Files.readAllLines(ackedFile).size() : 0);
        FileChannel acked = FileChannel.open(ackedFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        long run = ProcessHandle.current().pid();
        for (int t = 0; t < 4; t++) {
            Thread sender = new Thread(() -> {
                while (n.get() < total) {
                    String mid = "<" + run + "." + n.incrementAndGet() + "@app.test>";
                    try {
                        String id = relay.submit("app@one.test", List.of("rcpt@ext.test"), ("Message-ID: " + mid
                                + "\r\nSubject: crash\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII)).get();
                        write(acked, id + " " + mid + "\n");
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            sender.start();
        }
        Thread.currentThread().join();   // until SIGKILL
    }

    /** One write(2) per line: a SIGKILL leaves whole lines, never half a line. */
    private static synchronized void write(FileChannel file, String line) {
        try {
            file.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
