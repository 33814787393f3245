package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;

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
        assertThat(m.journaled()).as("a small message is a journal record").isTrue();
        assertThat(root.resolve("queue")).isEmptyDirectory();
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
        // Large enough to have its own file: as if the process died in the middle of a big DATA.
        w.write(new byte[SpoolWriter.SPILL_THRESHOLD + 10]);
        w.flush();
        assertThat(Spool.openExisting(root, Clock.systemUTC()).recover()).as("offline listing skips it").isEmpty();
        assertThat(root.resolve("queue")).isNotEmptyDirectory();
        Spool reopened = Spool.open(root, Clock.systemUTC());
        assertThat(reopened.recover()).isEmpty();
        assertThat(root.resolve("queue")).isEmptyDirectory();
    }

    @Test
    void largeMessagesGetTheirOwnFileAndSurviveReopen() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        SpoolWriter w = spool.create(envelope("bob@ext.test"));
        byte[] big = new byte[SpoolWriter.SPILL_THRESHOLD * 3];
        Arrays.fill(big, (byte) 'x');
        w.write(big);
        SpooledMessage m = w.commit();
        assertThat(m.journaled()).isFalse();
        assertThat(root.resolve("queue").resolve(m.id())).exists();
        SpooledMessage r = Spool.open(root, Clock.systemUTC()).recover().get(0);
        try (InputStream in = spool.openContent(r)) {
            assertThat(in.readAllBytes()).isEqualTo(big);
        }
    }

    /** A crash in the middle of an append leaves a torn last record: it was never acknowledged and is ignored. */
    @Test
    void aTornJournalRecordIsIgnoredAndTheOthersRecovered() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SpoolWriter w = spool.create(envelope("r" + i + "@ext.test"));
            w.write(("message " + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
            ids.add(w.commit().id());
        }
        spool.close();
        Path segment;
        try (var files = Files.list(root.resolve("journal"))) {
            segment = files.findFirst().orElseThrow();
        }
        long size = Files.size(segment);
        try (var ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(size - 20);
        }
        List<SpooledMessage> recovered = Spool.open(root, Clock.systemUTC()).recover();
        assertThat(recovered).extracting(SpooledMessage::id).containsExactly(ids.get(0), ids.get(1));
    }

    @Test
    void finishedJournalRecordsAreNotRecoveredAndEmptySegmentsGo() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        List<SpooledMessage> messages = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            SpoolWriter w = spool.create(envelope("r" + i + "@ext.test"));
            w.write(("message " + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
            messages.add(w.commit());
        }
        spool.remove(messages.get(0));
        spool.remove(messages.get(2));
        spool.remove(messages.get(2));
        spool.close();
        Spool reopened = Spool.open(root, Clock.systemUTC());
        List<SpooledMessage> left = reopened.recover();
        assertThat(left).extracting(SpooledMessage::id).containsExactly(messages.get(1).id(), messages.get(3).id());
        try (InputStream in = reopened.openContent(left.get(1))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("message 3\r\n");
        }
        left.forEach(m -> {
            try {
                reopened.remove(m);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        reopened.close();
        assertThat(Spool.open(root, Clock.systemUTC()).recover()).isEmpty();
        assertThat(root.resolve("journal")).as("the finished segment is deleted").isEmptyDirectory();
    }

    /** A crash after a record was moved to a queue file but before it was marked done must not cost its neighbours. */
    @Test
    void aRecordMovedBeforeACrashLeavesItsSegmentToTheOthers() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        List<SpooledMessage> messages = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            SpoolWriter w = spool.create(envelope("r" + i + "@ext.test"));
            w.write(("message " + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
            messages.add(w.commit());
        }
        Path segment = messages.get(0).file();
        byte[] beforeMove = Files.readAllBytes(segment);
        spool.saveState(messages.get(0).withNextAttempt(Instant.now()));
        spool.close();
        Files.write(segment, beforeMove);

        Spool reopened = Spool.open(root, Clock.systemUTC());
        List<SpooledMessage> recovered = reopened.recover();
        assertThat(recovered).extracting(SpooledMessage::id).containsExactly(messages.get(0).id(), messages.get(1).id());
        assertThat(recovered.get(0).journaled()).isFalse();
        assertThat(recovered.get(1).journaled()).isTrue();
        reopened.remove(recovered.get(0));
        assertThat(segment).as("still holds the second message").exists();
        try (InputStream in = reopened.openContent(recovered.get(1))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("message 1\r\n");
        }
        reopened.remove(recovered.get(1));
        assertThat(segment).doesNotExist();
    }

    @Test
    void recipientStateIsRestoredAfterRestart() throws IOException {
        Spool spool = Spool.open(root, Clock.systemUTC());
        SpoolWriter w = spool.create(envelope("bob@ext.test", "carol@ext.test"));
        w.write("x\r\n".getBytes(StandardCharsets.US_ASCII));
        SpooledMessage m = w.commit();
        Instant next = Instant.ofEpochMilli(1_700_000_300_000L);
        assertThat(m.journaled()).isTrue();
        SpooledMessage saved = spool.saveState(m.withState(List.of(
                m.recipients().get(0).with(RecipientStatus.SENT, "2.0.0", "250 ok"),
                m.recipients().get(1).with(RecipientStatus.PENDING, "4.4.1", "connect to x[1.2.3.4]:25: Connection refused\tand\nmore")),
                1, next));
        assertThat(saved.journaled()).as("a deferred message moves to its own file").isFalse();
        assertThat(root.resolve("queue").resolve(m.id())).exists();
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
