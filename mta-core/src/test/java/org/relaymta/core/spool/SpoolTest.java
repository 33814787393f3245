package org.relaymta.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    @TempDir
    Path root;

    private static Envelope envelope(String... rcpts) {
        return new Envelope("alice@one.test", List.of(rcpts), Instant.ofEpochMilli(1_700_000_000_000L), "127.0.0.1");
    }

    @Test
    void committedMessageSurvivesReopenWithEnvelopeAndContent() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        SpoolWriter w = spool.create(envelope("bob@ext.test", "carol@ext.test"));
        w.write("Subject: hi\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        SpooledMessage m = w.commit();
        assertThat(Files.exists(root.resolve("queue").resolve(m.id()))).isTrue();
        assertThat(m.contentLength()).isEqualTo("Subject: hi\r\n\r\nbody\r\n".length());

        List<SpooledMessage> recovered = Spool.open(root, Clock.systemUTC()).recover();
        assertThat(recovered).hasSize(1);
        SpooledMessage r = recovered.get(0);
        assertThat(r.id()).isEqualTo(m.id());
        assertThat(r.envelope()).isEqualTo(m.envelope());
        assertThat(r.pendingRecipients()).extracting(Recipient::address).containsExactly("bob@ext.test", "carol@ext.test");
        try (InputStream in = spool.openContent(r)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("Subject: hi\r\n\r\nbody\r\n");
        }
    }

    @Test
    void unacknowledgedPartialFilesAreRemovedAtOpenAndNeverRecovered() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        SpoolWriter w = spool.create(envelope("bob@ext.test"));
        w.write("partial".getBytes(StandardCharsets.US_ASCII));
        w.flush();
        // no commit: as if the process died mid-DATA
        assertThat(Spool.openExisting(root, Clock.systemUTC()).recover()).as("offline listing skips it").isEmpty();
        assertThat(root.resolve("queue")).isNotEmptyDirectory();
        Spool reopened = Spool.open(root, Clock.systemUTC());
        assertThat(reopened.recover()).isEmpty();
        assertThat(root.resolve("queue")).isEmptyDirectory();
    }

    @Test
    void recipientStateIsRestoredAfterRestart() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        SpoolWriter w = spool.create(envelope("bob@ext.test", "carol@ext.test"));
        w.write("x\r\n".getBytes(StandardCharsets.US_ASCII));
        SpooledMessage m = w.commit();
        Instant next = Instant.ofEpochMilli(1_700_000_300_000L);
        spool.saveState(m.withState(List.of(
                m.recipients().get(0).with(RecipientStatus.SENT, "2.0.0", "250 ok"),
                m.recipients().get(1).with(RecipientStatus.PENDING, "4.4.1", "connect to x[1.2.3.4]:25: Connection refused\tand\nmore")),
                1, next));
        SpooledMessage r = Spool.open(root, Clock.systemUTC()).recover().get(0);
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.nextAttempt()).isEqualTo(next);
        assertThat(r.pendingRecipients()).extracting(Recipient::address).containsExactly("carol@ext.test");
        assertThat(r.recipients().get(1).dsn()).isEqualTo("4.4.1");
        assertThat(r.recipients().get(1).lastReason()).isEqualTo("connect to x[1.2.3.4]:25: Connection refused and more");

        spool.remove(r);
        assertThat(Spool.open(root, Clock.systemUTC()).recover()).isEmpty();
        assertThat(root.resolve("queue")).isEmptyDirectory();
    }

    @Test
    void concurrentCommitsAllBecomeDurableWithUniqueIds() throws Exception {
        Spool spool = Spool.open(root, Clock.systemUTC());
        ExecutorService pool = Executors.newFixedThreadPool(16);
        Set<String> ids = ConcurrentHashMap.newKeySet();
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            int n = i;
            futures.add(pool.submit(() -> {
                SpoolWriter w = spool.create(envelope("r" + n + "@ext.test"));
                w.write(("message " + n + "\r\n").getBytes(StandardCharsets.US_ASCII));
                ids.add(w.commit().id());
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        assertThat(ids).hasSize(400);
        assertThat(Spool.open(root, Clock.systemUTC()).recover()).hasSize(400);
    }
}
