package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * One mail transaction on an {@link EmbeddedChannel}: the MAIL parameters the server's
 * capabilities call for, each refusal and whom it decides, and whether the session stays usable.
 */
class MailTransactionTest {
    private static final String CONTENT = "Subject: t\r\n\r\nhello\r\n";

    private final EmbeddedSmtp smtp = new EmbeddedSmtp();

    private CompletableFuture<MailTransaction.Result> run(OpenSession session, DeliveryRequest request, boolean reused) {
        return new MailTransaction(session, smtp.target, request, request.recipients(), System.nanoTime(), reused).run();
    }

    private DeliveryRequest request(String... rcpts) {
        return smtp.request("a@one.test", List.of(rcpts), CONTENT, false);
    }

    @Test
    void withoutPipeliningEachCommandWaitsForItsReply() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test", "SIZE 1000"), request("b@ext.test"), false);

        assertThat(smtp.sent()).isEqualTo("MAIL FROM:<a@one.test> SIZE=" + CONTENT.length() + "\r\n");
        assertThat(smtp.reply("250 2.1.0 ok\r\n")).isEqualTo("RCPT TO:<b@ext.test>\r\n");
        assertThat(smtp.reply("250 2.1.5 ok\r\n")).isEqualTo("DATA\r\n");
        assertThat(smtp.reply("354 go\r\n")).isEqualTo(CONTENT + ".\r\n");
        smtp.reply("250 2.0.0 queued as X1\r\n");

        MailTransaction.Result r = tx.join();
        assertThat(r.decided.get("b@ext.test").status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(r.decided.get("b@ext.test").relay()).isEqualTo("relay.test[192.0.2.1]:25");
        assertThat(r.reusable).isTrue();
        assertThat(r.sessionFailure).isNull();
    }

    @Test
    void eightBitContentIsDeclaredAndRefusedWhereItCannotBe() {
        DeliveryRequest eightBit = smtp.request("a@one.test", List.of("b@ext.test"), "Subject: caf\u00e9\r\n\r\nx\r\n", true);

        run(smtp.session("relay.test", "8BITMIME"), eightBit, false);
        assertThat(smtp.sent()).isEqualTo("MAIL FROM:<a@one.test> BODY=8BITMIME\r\n");

        EmbeddedSmtp old = new EmbeddedSmtp();
        MailTransaction.Result r = new MailTransaction(old.session("old.test"), old.target, eightBit, List.of("b@ext.test"),
                System.nanoTime(), false).run().join();
        assertThat(old.sent()).as("never 8-bit content undeclared").isEmpty();
        assertThat(r.sessionFailure.dsn()).isEqualTo("4.6.3");
        assertThat(r.sessionFailure.reason()).contains("does not announce 8BITMIME support");
        assertThat(r.decided).isEmpty();
        assertThat(r.reusable).isTrue();
    }

    @Test
    void aUtf8AddressNeedsSmtputf8() {
        DeliveryRequest utf8 = smtp.request("a@one.test", List.of("j\u00fcrgen@ext.test"), CONTENT, false);

        MailTransaction.Result refused = run(smtp.session("relay.test", "8BITMIME"), utf8, false).join();
        assertThat(refused.decided.get("j\u00fcrgen@ext.test").status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(refused.decided.get("j\u00fcrgen@ext.test").dsn()).isEqualTo("5.6.7");
        assertThat(smtp.sent()).isEmpty();

        EmbeddedSmtp modern = new EmbeddedSmtp();
        new MailTransaction(modern.session("relay.test", "SMTPUTF8"), modern.target, utf8, utf8.recipients(), System.nanoTime(),
                false).run();
        assertThat(modern.sent()).isEqualTo("MAIL FROM:<a@one.test> SMTPUTF8\r\n");
    }

    @Test
    void aMessageOverTheServersSizeLimitBouncesWithoutATransaction() {
        MailTransaction.Result r = run(smtp.session("relay.test", "SIZE 10"), request("b@ext.test", "c@ext.test"), false).join();

        assertThat(smtp.sent()).isEmpty();
        assertThat(r.decided.values()).extracting(DeliveryOutcome::status).containsOnly(DeliveryOutcome.Status.BOUNCED);
        assertThat(r.decided.get("c@ext.test").dsn()).isEqualTo("5.3.4");
        assertThat(r.decided.get("c@ext.test").reason())
                .isEqualTo("message size " + CONTENT.length() + " exceeds size limit 10 of server relay.test[192.0.2.1]");
    }

    @Test
    void aPermanentMailRefusalBouncesEveryoneAndEndsAnAcceptedPipelinedData() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test", "PIPELINING"),
                request("b@ext.test", "c@ext.test"), false);
        assertThat(smtp.sent()).isEqualTo("MAIL FROM:<a@one.test>\r\nRCPT TO:<b@ext.test>\r\nRCPT TO:<c@ext.test>\r\nDATA\r\n");

        // RFC 2920 3.1: a server may accept DATA after refusing the sender; it gets an empty message.
        assertThat(smtp.reply("553 5.7.1 sender not allowed\r\n503 5.5.1 no sender\r\n503 5.5.1 no sender\r\n354 go\r\n"))
                .isEqualTo(".\r\n");
        smtp.reply("554 5.5.1 no valid recipients\r\n");

        MailTransaction.Result r = tx.join();
        assertThat(r.decided).containsOnlyKeys("b@ext.test", "c@ext.test");
        assertThat(r.decided.get("b@ext.test").status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(r.decided.get("b@ext.test").reason())
                .isEqualTo("host relay.test[192.0.2.1] said: 553 5.7.1 sender not allowed (in reply to MAIL FROM command)");
        assertThat(r.reusable).isTrue();
    }

    @Test
    void aTemporaryMailRefusalIsASessionFailureForEveryone() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test"), request("b@ext.test"), false);
        smtp.sent();

        assertThat(smtp.reply("421 4.7.0 slow down\r\n")).isEmpty();

        MailTransaction.Result r = tx.join();
        assertThat(r.decided).isEmpty();
        assertThat(r.sessionFailure.dsn()).isEqualTo("4.7.0");
        assertThat(r.sessionFailure.reason()).endsWith("421 4.7.0 slow down (in reply to MAIL FROM command)");
    }

    @Test
    void pipelinedRecipientsAreDecidedOneByOneAndTheAcceptedOnesGetTheMessage() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test", "PIPELINING"),
                request("b@ext.test", "c@ext.test", "d@ext.test"), false);
        smtp.sent();

        String content = smtp.reply("250 ok\r\n250 ok\r\n452 4.2.2 mailbox full\r\n550 5.1.1 unknown\r\n354 go\r\n");
        assertThat(content).isEqualTo(CONTENT + ".\r\n");
        smtp.reply("250 2.0.0 queued\r\n");

        MailTransaction.Result r = tx.join();
        assertThat(r.decided.get("b@ext.test").status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(r.deferred.get("c@ext.test").reason()).endsWith("452 4.2.2 mailbox full (in reply to RCPT TO command)");
        assertThat(r.decided.get("d@ext.test").status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(r.decided.get("d@ext.test").dsn()).isEqualTo("5.1.1");
    }

    @Test
    void aRefusedDataAndAFinalRefusalDecideTheAcceptedRecipients() {
        CompletableFuture<MailTransaction.Result> refusedData = run(smtp.session("relay.test"), request("b@ext.test"), false);
        smtp.sent();
        smtp.reply("250 ok\r\n");
        smtp.reply("250 ok\r\n");
        smtp.reply("554 5.3.0 no data for you\r\n");
        assertThat(refusedData.join().decided.get("b@ext.test").reason()).endsWith("(in reply to DATA command)");

        EmbeddedSmtp other = new EmbeddedSmtp();
        CompletableFuture<MailTransaction.Result> refusedContent = new MailTransaction(other.session("relay.test"), other.target,
                request("b@ext.test"), List.of("b@ext.test"), System.nanoTime(), false).run();
        other.sent();
        other.reply("250 ok\r\n");
        other.reply("250 ok\r\n");
        other.reply("354 go\r\n");
        other.reply("451 4.3.0 queue trouble\r\n");
        MailTransaction.Result r = refusedContent.join();
        assertThat(r.decided).isEmpty();
        assertThat(r.deferred.get("b@ext.test").reason())
                .isEqualTo("host relay.test[192.0.2.1] said: 451 4.3.0 queue trouble (in reply to end of DATA command)");
        assertThat(r.reusable).isTrue();
    }

    @Test
    void aCachedSessionClosedWhileIdleIsStaleAndDecidesNothing() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test"), request("b@ext.test"), true);
        smtp.sent();

        smtp.hangUp();

        MailTransaction.Result r = tx.join();
        assertThat(r.stale).isTrue();
        assertThat(r.decided).isEmpty();
        assertThat(r.sessionFailure).isNull();
        assertThat(r.reusable).isFalse();
    }

    @Test
    void aNewSessionLostMidwayIsASessionFailure() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test"), request("b@ext.test"), false);
        smtp.sent();
        smtp.reply("250 ok\r\n");

        smtp.hangUp();

        MailTransaction.Result r = tx.join();
        assertThat(r.stale).isFalse();
        assertThat(r.sessionFailure.dsn()).isEqualTo("4.4.2");
        assertThat(r.sessionFailure.reason())
                .isEqualTo("lost connection with relay.test[192.0.2.1]:25 while receiving the reply to RCPT TO command");
        assertThat(r.reusable).isFalse();
    }

    @Test
    void aSilentServerAfterMailTimesOutAfterSmtpMailTimeout() {
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test"), request("b@ext.test"), false);
        smtp.sent();

        smtp.advance(299);
        assertThat(tx).isNotDone();
        smtp.advance(2);

        MailTransaction.Result r = tx.join();
        assertThat(r.sessionFailure.reason()).contains("timed out while receiving the reply to MAIL FROM command");
        assertThat(smtp.channel.isOpen()).isFalse();
    }

    @Test
    void anUnreadableQueueFileDefersAndClosesTheSession() {
        DeliveryRequest broken = new DeliveryRequest("TESTID", "a@one.test", List.of("b@ext.test"), 10, false,
                () -> {
                    throw new IOException("queue file vanished");
                }, smtp.request("a@one.test", List.of("b@ext.test"), CONTENT, false).route(), smtp.cfg);
        CompletableFuture<MailTransaction.Result> tx = run(smtp.session("relay.test"), broken, false);
        smtp.sent();
        smtp.reply("250 ok\r\n");
        smtp.reply("250 ok\r\n");

        smtp.reply("354 go\r\n");

        MailTransaction.Result r = tx.join();
        assertThat(r.sessionFailure.dsn()).isEqualTo("4.3.0");
        assertThat(r.sessionFailure.reason()).isEqualTo("cannot read queued message: queue file vanished");
        assertThat(r.reusable).isFalse();
        assertThat(smtp.channel.isOpen()).isFalse();
    }
}
