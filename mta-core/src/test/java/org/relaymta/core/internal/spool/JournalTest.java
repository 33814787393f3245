package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal's records on real files: group commit, done marks, segments retired and adopted. */
class JournalTest {
    @TempDir
    Path spool;

    private Journal journal;

    private Journal journal() {
        journal = new Journal(spool.resolve(Journal.DIRECTORY));
        return journal;
    }

    @AfterEach
    void close() {
        if (journal != null) {
            journal.close();
        }
    }

    /** A queue file's bytes as the spool writes them: some content and a live trailer. */
    private static byte[] record(String content) {
        return (content + "RELAYMTA-END 7\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static long trailerOffset(Journal.Appended at, byte[] body) {
        return at.bodyOffset() + body.length - Spool.TRAILER_LENGTH;
    }

    private static void awaitDurable(Journal j, Journal.Appended at) throws Exception {
        j.durable(at.sequence()).get(10, TimeUnit.SECONDS);
    }

    @Test
    void anAppendedRecordIsOnDiskAsALengthLineAndTheQueueFileBytes() throws Exception {
        Journal j = journal();
        byte[] body = record("HEADER\nhello\r\n");

        Journal.Appended at = j.append(body, body.length);
        awaitDurable(j, at);

        assertThat(j.segmentFiles()).containsExactly(at.segment());
        assertThat(at.segment().getFileName().toString()).isEqualTo("0000000000000000.seg");
        byte[] file = Files.readAllBytes(at.segment());
        byte[] prefix = Arrays.copyOfRange(file, 0, Journal.PREFIX_LENGTH);
        assertThat(new String(prefix, StandardCharsets.US_ASCII)).isEqualTo("RELAYMTA-REC 000000000029\n");
        assertThat(Journal.recordLength(prefix)).isEqualTo(body.length);
        assertThat(at.bodyOffset()).isEqualTo(Journal.PREFIX_LENGTH);
        assertThat(Arrays.copyOfRange(file, (int) at.bodyOffset(), file.length)).isEqualTo(body);
        assertThat(j.healthy()).isTrue();
    }

    @Test
    void recordsFollowEachOtherWithRisingSequences() throws Exception {
        Journal j = journal();
        List<Journal.Appended> all = new ArrayList<>();
        long expectedOffset = Journal.PREFIX_LENGTH;
        for (int i = 0; i < 5; i++) {
            byte[] body = record("message " + i + "\n");
            Journal.Appended at = j.append(body, body.length);
            assertThat(at.bodyOffset()).isEqualTo(expectedOffset);
            expectedOffset += body.length + Journal.PREFIX_LENGTH;
            all.add(at);
        }
        assertThat(all).extracting(Journal.Appended::sequence).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(all).extracting(Journal.Appended::segment).containsOnly(all.get(0).segment());
        awaitDurable(j, all.get(4));
        assertThat(j.durable(1).isDone()).as("an fdatasync covers every append made before it").isTrue();
    }

    @Test
    void onlyTheGivenLengthOfTheBufferIsWritten() throws Exception {
        Journal j = journal();
        byte[] buffer = new byte[64];
        byte[] body = record("abc");
        System.arraycopy(body, 0, buffer, 0, body.length);

        Journal.Appended at = j.append(buffer, body.length);
        awaitDurable(j, at);

        assertThat(Files.size(at.segment())).isEqualTo(Journal.PREFIX_LENGTH + body.length);
    }

    @Test
    void concurrentCommitsShareTheSyncAndAllComplete() throws Exception {
        Journal j = journal();
        List<CompletableFuture<Void>> commits = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int n = t;
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 50; i++) {
                    byte[] body = record("t" + n + " m" + i + "\n");
                    try {
                        Journal.Appended at = j.append(body, body.length);
                        synchronized (commits) {
                            commits.add(j.durable(at.sequence()));
                        }
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        CompletableFuture.allOf(commits.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);

        assertThat(commits).hasSize(400).allMatch(c -> c.isDone() && !c.isCompletedExceptionally());
        assertThat(Files.size(j.segmentFiles().get(0))).isGreaterThan(400L * Journal.PREFIX_LENGTH);
    }

    @Test
    void aDoneMarkReplacesTheTrailerAndTheLastOneRetiresASealedSegment() throws Exception {
        Journal j = journal();
        byte[] a = record("first\n");
        byte[] b = record("second\n");
        Journal.Appended atA = j.append(a, a.length);
        Journal.Appended atB = j.append(b, b.length);
        awaitDurable(j, atB);

        j.markDone(atA.segment(), trailerOffset(atA, a));
        byte[] file = Files.readAllBytes(atA.segment());
        int trailerA = (int) trailerOffset(atA, a);
        assertThat(Arrays.copyOfRange(file, trailerA, trailerA + Journal.TRAILER_DONE.length)).isEqualTo(Journal.TRAILER_DONE);
        int trailerB = (int) trailerOffset(atB, b);
        assertThat(new String(file, trailerB, Spool.TRAILER_LENGTH, StandardCharsets.US_ASCII)).isEqualTo("RELAYMTA-END 7\n");

        // Marking the same record twice does not count it twice: b is still live.
        j.markDone(atA.segment(), trailerOffset(atA, a));
        assertThat(Files.exists(atA.segment())).isTrue();

        j.markDone(atB.segment(), trailerOffset(atB, b));
        // The segment being written stays until it is sealed (after a quiet second, or at rotation);
        // an adopted one with nothing live goes at once (below).
        assertThat(atB.segment()).exists();
    }

    @Test
    void aQuietJournalRetiresItsEmptySegment() throws Exception {
        Journal j = journal();
        byte[] body = record("only\n");
        Journal.Appended at = j.append(body, body.length);
        awaitDurable(j, at);
        j.markDone(at.segment(), trailerOffset(at, body));

        // The sync thread retires an empty current segment after a quiet second.
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(at.segment()));

        byte[] next = record("after\n");
        Journal.Appended later = j.append(next, next.length);
        assertThat(later.segment()).as("the next append starts a new segment").isNotEqualTo(at.segment());
        assertThat(later.segment().getFileName().toString()).isEqualTo("0000000000000001.seg");
        assertThat(later.sequence()).isEqualTo(2);
    }

    @Test
    void adoptedSegmentsAreNeverAppendedToAndGoWhenTheirLastRecordIsDone() throws Exception {
        Path dir = spool.resolve(Journal.DIRECTORY);
        Files.createDirectories(dir);
        Path old = dir.resolve("00000000000000A1.seg");
        byte[] body = record("from before the crash\n");
        byte[] prefix = ("RELAYMTA-REC " + String.format("%012d", body.length) + "\n").getBytes(StandardCharsets.US_ASCII);
        Files.write(old, concat(prefix, body));
        Path empty = dir.resolve("00000000000000A0.seg");
        Files.write(empty, new byte[0]);

        Journal j = journal();
        j.adopt(empty, 0, true);
        j.adopt(old, 1, true);
        assertThat(empty).as("an adopted segment with nothing live is deleted").doesNotExist();

        byte[] fresh = record("new\n");
        Journal.Appended at = j.append(fresh, fresh.length);
        assertThat(at.segment().getFileName().toString()).as("numbers continue after the adopted ones")
                .isEqualTo("00000000000000A2.seg");
        assertThat(Files.size(old)).isEqualTo(prefix.length + body.length);

        j.markDone(old, prefix.length + body.length - Spool.TRAILER_LENGTH);
        assertThat(old).as("sealed and empty: deleted").doesNotExist();
    }

    @Test
    void anAdoptedEmptySegmentCanBeKept() throws Exception {
        Path dir = spool.resolve(Journal.DIRECTORY);
        Files.createDirectories(dir);
        Path kept = dir.resolve("0000000000000003.seg");
        Files.write(kept, new byte[0]);

        Journal j = journal();
        j.adopt(kept, 0, false);

        assertThat(kept).exists();
        assertThat(j.segmentFiles()).containsExactly(kept);
    }

    @Test
    void recordLengthRefusesWhatIsNotALengthLine() {
        assertThat(Journal.recordLength("RELAYMTA-REC 000000000123\n".getBytes(StandardCharsets.US_ASCII))).isEqualTo(123);
        assertThat(Journal.recordLength("RELAYMTA-REC 00000000012x\n".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
        assertThat(Journal.recordLength("RELAYMTA-REC 000000000123X".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
        assertThat(Journal.recordLength(new byte[Journal.PREFIX_LENGTH])).as("zeros: a torn or preallocated end")
                .isEqualTo(-1);
        assertThat(Journal.recordLength("RELAYMTA-DONE 00000000123\n".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
    }

    @Test
    void commitsAfterCloseFailAndCommitsBeforeItWereSynced() throws Exception {
        Journal j = journal();
        byte[] body = record("x\n");
        Journal.Appended at = j.append(body, body.length);
        CompletableFuture<Void> before = j.durable(at.sequence());
        j.close();
        journal = null;

        assertThat(before).succeedsWithin(Duration.ofSeconds(10));
        assertThatThrownBy(() -> j.durable(at.sequence() + 1).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasMessageContaining("spool journal closed");
    }

    @Test
    void aMarkForAnUnknownSegmentIsIgnored() throws Exception {
        Journal j = journal();

        j.markDone(spool.resolve("journal/FFFFFFFFFFFFFFFF.seg"), 0);

        assertThat(j.segmentFiles()).isEmpty();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
