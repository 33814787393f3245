package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.QueueAction;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.RecipientStatus;
import org.relaymta.testing.MovedClock;

/** The operator actions on a spool that no relay runs on ({@code mta queue} offline): written to the spool for the next start. */
class QueueOperationsTest {
    @TempDir
    Path root;

    private final MovedClock clock = new MovedClock();

    private String receive(Spool spool, String rcpt) throws Exception {
        SpoolWriter w = spool.create(new Envelope("alice@one.test", List.of(rcpt), clock.instant(), "127.0.0.1"));
        w.write("Subject: s\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        return w.commit().id();
    }

    @Test
    void offlineHoldReleaseAndDeleteAreSavedInTheSpool() throws Exception {
        Spool writer = Spool.open(root, clock);
        String a = receive(writer, "a@ext.test");
        String b = receive(writer, "b@ext.test");
        writer.close();

        QueueOperations ops = QueueOperations.offline(Spool.openExisting(root, clock), clock);
        assertThat(ops.size()).isEqualTo(2);
        assertThat(ops.apply(QueueAction.HOLD, a).done()).containsExactly(a);
        assertThat(ops.apply(QueueAction.DELETE, b).done()).containsExactly(b);
        assertThat(ops.apply(QueueAction.DELETE, b).notFound()).as("deleted already").containsExactly(b);

        QueueOperations again = QueueOperations.offline(Spool.openExisting(root, clock), clock);
        assertThat(again.messages()).extracting(SpooledMessage::id, SpooledMessage::state)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(a, QueueState.HOLD));
        assertThat(again.apply(QueueAction.RELEASE, "ALL").done()).containsExactly(a);
        assertThat(QueueOperations.offline(Spool.openExisting(root, clock), clock).message(a).orElseThrow().state())
                .isEqualTo(QueueState.DEFERRED);
    }

    @Test
    void aListingReadsTheStateFileAloneAndContentStillComesWhole() throws Exception {
        Spool spool = Spool.open(root, clock);
        String id = receive(spool, "a@ext.test");
        SpooledMessage full = spool.load(id).orElse(null);
        assertThat(full).as("still in the journal").isNull();
        SpooledMessage journaled = spool.recover().get(0);
        spool.saveState(journaled.withQueueState(QueueState.DEFERRED)
                .withState(List.of(journaled.recipients().get(0).with(RecipientStatus.PENDING,
                        "4.4.1", "connect to x: refused")), 1, clock.instant().plusSeconds(300)));
        spool.close();

        Spool reopened = Spool.openExisting(root, clock);
        SpooledMessage summary = reopened.summary(id).orElseThrow();
        SpooledMessage loaded = reopened.load(id).orElseThrow();
        assertThat(summary.contentOffset()).as("not read for a listing").isNegative();
        assertThat(summary).usingRecursiveComparison().ignoringFields("contentOffset", "eightBit", "envelope.clientAddress")
                .isEqualTo(loaded);
        QueueOperations ops = QueueOperations.offline(reopened, clock);
        SpooledMessage listed = ops.messages().get(0);
        assertThat(listed.recipients().get(0).lastReason()).isEqualTo("connect to x: refused");
        try (InputStream in = ops.content(listed)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("Subject: s\r\n\r\nbody\r\n");
        }
    }
}
