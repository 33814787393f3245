package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.RecipientStatus;

/** What a crash between an event and its spool change leaves, put right at the next start. */
class OutboxReconcilerTest {
    @TempDir
    Path root;
    private final Clock clock = Clock.fixed(Instant.parse("2026-12-04T10:00:00Z"), ZoneOffset.UTC);

    private String spooled(Spool spool, String... recipients) throws Exception {
        SpoolWriter w = spool.create(new Envelope("app@one.test", List.of(recipients), clock.instant(), ""));
        w.write("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        return w.commit().id();
    }

    private static DeliveryEvent event(String id, String rcpt, DeliveryEvent.Status status) {
        return new DeliveryEvent(id, "", "app@one.test", rcpt, status, "", "none", false, 550, "5.1.1", "550 no such user",
                "invalid-recipient", 1, DeliveryEvent.Delays.NONE, "", "", "relay.test", Instant.EPOCH, Duration.ZERO, "", 7);
    }

    @Test
    void recipientsSentOrBouncedPerTheOutboxAreNotTriedAgain() throws Exception {
        Spool spool = Spool.open(root, clock);
        String id = spooled(spool, "a@ext.test", "b@ext.test", "c@ext.test");
        int changed = OutboxReconciler.reconcile(spool, List.of(event(id, "a@ext.test", DeliveryEvent.Status.SENT),
                event(id, "b@ext.test", DeliveryEvent.Status.BOUNCED), event(id, "c@ext.test", DeliveryEvent.Status.DEFERRED)));
        assertThat(changed).isEqualTo(1);
        spool.close();
        SpooledMessage m = Spool.open(root, clock).recover().get(0);
        assertThat(m.recipients()).extracting(r -> r.address() + "=" + r.status())
                .containsExactly("a@ext.test=SENT", "b@ext.test=FAILED", "c@ext.test=PENDING");
    }

    @Test
    void aMessageWhoseRecipientsAreAllDoneOrThatWasDeletedLeavesTheSpool() throws Exception {
        Spool spool = Spool.open(root, clock);
        String done = spooled(spool, "a@ext.test");
        String deleted = spooled(spool, "b@ext.test");
        String untouched = spooled(spool, "c@ext.test");
        OutboxReconciler.reconcile(spool, List.of(event(done, "a@ext.test", DeliveryEvent.Status.SENT),
                event(deleted, "b@ext.test", DeliveryEvent.Status.DELETED), event("0123456789ABCDEF", "x@ext.test",
                        DeliveryEvent.Status.SENT)));
        spool.close();
        List<SpooledMessage> left = Spool.open(root, clock).recover();
        assertThat(left).extracting(SpooledMessage::id).containsExactly(untouched);
        assertThat(left.get(0).recipients().get(0).status()).isEqualTo(RecipientStatus.PENDING);
    }
}
