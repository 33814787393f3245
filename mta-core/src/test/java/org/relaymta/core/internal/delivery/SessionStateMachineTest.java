package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Router;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;

/**
 * The client state machines driven on an {@link EmbeddedChannel}: every server reply is fed one
 * byte at a time, and each step must send its next command only once the whole reply is in, never
 * earlier, never twice. Timers run on the channel's moved clock.
 */
class SessionStateMachineTest {
    private static final String CONTENT = "Subject: split\r\n\r\n.leading dot\r\n" + "x".repeat(2000) + "\r\nend\r\n";

    private EmbeddedChannel channel;
    private SmtpConnection conn;
    private Target target;
    private final RelayConfig cfg = Snapshots.of(RelaySettings.defaults().defaultRelayHost("[relay.test]:25")
            .hostname("relay.local"));

    @BeforeEach
    void connect() throws Exception {
        channel = new EmbeddedChannel();
        channel.freezeTime();
        conn = SmtpConnection.on(channel, "relay.test[192.0.2.1]:25");
        target = new Target("relay.test", InetAddress.getByName("192.0.2.1"), 25);
    }

    /** Feeds {@code reply} byte by byte; before its last byte nothing may be sent. Returns what was sent after it. */
    private String reply(String reply) {
        byte[] bytes = reply.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < bytes.length; i++) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {bytes[i]}));
            channel.runPendingTasks();
            if (i < bytes.length - 1) {
                assertThat(sent()).as("sent before the reply was complete (at byte %d of %s)", i, reply.strip()).isEmpty();
            }
        }
        return sent();
    }

    private String sent() {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    private SessionOpener opener(Optional<Credentials> credentials) {
        return new SessionOpener(target, new SessionPolicy(TlsRequirements.none("test"), false, credentials), null, "relay.test",
                "relay.local", cfg.delivery().smtp(), "TESTID", false);
    }

    private DeliveryRequest request(List<String> rcpts, byte[] content) {
        return new DeliveryRequest("TESTID", "a@one.test", rcpts, content.length, false,
                () -> new ByteArrayInputStream(content), Router.route(cfg, "a@one.test", rcpts.get(0)), cfg);
    }

    @Test
    void aWholeSessionWithRepliesSplitAtEveryByte() {
        CompletableFuture<SessionOpener.Opened> opening = opener(Optional.of(new Credentials("user", "secret", "[relay.test]:25")))
                .open(CompletableFuture.completedFuture(conn));
        assertThat(reply("220 relay.test ESMTP\r\n")).isEqualTo("EHLO relay.local\r\n");
        assertThat(reply("250-relay.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"))
                .isEqualTo("AUTH PLAIN " + Base64.getEncoder().encodeToString("\0user\0secret".getBytes(StandardCharsets.UTF_8))
                        + "\r\n");
        assertThat(opening).isNotDone();
        assertThat(reply("235 2.7.0 Authentication successful\r\n")).isEmpty();
        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure()).isNull();
        assertThat(opened.session().capabilities().sizeLimit()).isEqualTo(1_000_000);

        byte[] content = CONTENT.getBytes(StandardCharsets.US_ASCII);
        CompletableFuture<MailTransaction.Result> tx = new MailTransaction(opened.session(), target,
                request(List.of("b@ext.test", "c@ext.test"), content), List.of("b@ext.test", "c@ext.test"), System.nanoTime(),
                false).run();
        assertThat(sent()).as("one pipelined write").isEqualTo("MAIL FROM:<a@one.test> SIZE=" + content.length + "\r\n"
                + "RCPT TO:<b@ext.test>\r\nRCPT TO:<c@ext.test>\r\nDATA\r\n");
        String data = reply("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@ext.test>: no such user\r\n354 go ahead\r\n");
        channel.runPendingTasks();
        data += sent();
        assertThat(data).startsWith("Subject: split\r\n\r\n..leading dot\r\n").endsWith("end\r\n.\r\n");
        assertThat(data.split("\r\n")).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(998));
        assertThat(data.replace("\r\n ", "")).as("unfolded, the content is what was queued")
                .isEqualTo(CONTENT.replace("\r\n.leading", "\r\n..leading") + ".\r\n");
        assertThat(tx).isNotDone();
        assertThat(reply("250 2.0.0 Ok: queued as 4Xyz\r\n")).isEmpty();

        MailTransaction.Result result = tx.join();
        assertThat(result.reusable).as("a clean session goes back to the cache").isTrue();
        assertThat(result.decided.get("b@ext.test").status()).isEqualTo(DeliveryOutcome.Status.SENT);
        assertThat(result.decided.get("b@ext.test").reason()).isEqualTo("250 2.0.0 Ok: queued as 4Xyz");
        assertThat(result.decided.get("c@ext.test").status()).isEqualTo(DeliveryOutcome.Status.BOUNCED);
        assertThat(result.decided.get("c@ext.test").reason())
                .isEqualTo("host relay.test[192.0.2.1] said: 550 5.1.1 <c@ext.test>: no such user (in reply to RCPT TO command)");
        assertThat(channel.isActive()).isTrue();
    }

    @Test
    void anOldServerGetsHeloAndOneCommandAtATime() {
        CompletableFuture<SessionOpener.Opened> opening = opener(Optional.empty()).open(CompletableFuture.completedFuture(conn));
        assertThat(reply("220 old.test\r\n")).isEqualTo("EHLO relay.local\r\n");
        assertThat(reply("502 5.5.1 unknown command\r\n")).isEqualTo("HELO relay.local\r\n");
        assertThat(reply("250 old.test\r\n")).isEmpty();
        OpenSession session = opening.join().session();

        byte[] content = "Subject: x\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII);
        CompletableFuture<MailTransaction.Result> tx = new MailTransaction(session, target,
                request(List.of("b@ext.test"), content), List.of("b@ext.test"), System.nanoTime(), false).run();
        assertThat(sent()).isEqualTo("MAIL FROM:<a@one.test>\r\n");
        assertThat(reply("250 ok\r\n")).isEqualTo("RCPT TO:<b@ext.test>\r\n");
        assertThat(reply("451 4.3.0 try later\r\n")).as("no accepted recipient: the transaction is reset")
                .isEqualTo("RSET\r\n");
        assertThat(reply("250 ok\r\n")).isEmpty();
        MailTransaction.Result result = tx.join();
        assertThat(result.decided).isEmpty();
        assertThat(result.deferred.get("b@ext.test").reason()).contains("451 4.3.0 try later (in reply to RCPT TO command)");
        assertThat(result.reusable).isTrue();
    }

    @Test
    void aGreetingRefusalEndsTheOpeningAsAFailedSession() {
        CompletableFuture<SessionOpener.Opened> opening = opener(Optional.empty()).open(CompletableFuture.completedFuture(conn));
        assertThat(reply("421 4.7.0 too many connections from your address\r\n")).isEmpty();
        SessionOpener.Opened opened = opening.join();
        assertThat(opened.session()).isNull();
        assertThat(opened.failure().dsn()).isEqualTo("4.7.0");
        assertThat(opened.failure().reason()).isEqualTo(
                "host relay.test[192.0.2.1] refused to talk to me: 421 4.7.0 too many connections from your address");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aRejectedAuthenticationSaysQuitAndDefers() {
        CompletableFuture<SessionOpener.Opened> opening = opener(Optional.of(new Credentials("user", "wrong", "[relay.test]:25")))
                .open(CompletableFuture.completedFuture(conn));
        reply("220 relay.test ESMTP\r\n");
        assertThat(reply("250-relay.test\r\n250 AUTH LOGIN\r\n")).isEqualTo("AUTH LOGIN\r\n");
        assertThat(reply("334 VXNlcm5hbWU6\r\n")).isEqualTo(Base64.getEncoder().encodeToString("user".getBytes()) + "\r\n");
        assertThat(reply("334 UGFzc3dvcmQ6\r\n")).isEqualTo(Base64.getEncoder().encodeToString("wrong".getBytes()) + "\r\n");
        assertThat(reply("535 5.7.8 Authentication credentials invalid\r\n")).isEqualTo("QUIT\r\n");
        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).as("smtp_sasl_auth_soft_bounce").isEqualTo("4.7.8");
        assertThat(opened.failure().reason()).doesNotContain("wrong").doesNotContain(
                Base64.getEncoder().encodeToString("wrong".getBytes()));
        reply("221 2.0.0 bye\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aStallAfterTheDotGivesUpAfterTheDataDoneTimeoutAlone() {
        SmtpClientSettings d = SmtpClientSettings.postfixDefaults();
        SmtpClientSettings settings = new SmtpClientSettings(d.connectTimeout(), d.heloTimeout(), d.mailTimeout(),
                d.rcptTimeout(), d.starttlsTimeout(), d.dataInitTimeout(), d.dataXferTimeout(),
                Duration.ofSeconds(600), d.quitTimeout(), d.connectionCacheTimeLimit(), d.saslMechanismFilter(),
                d.tlsCaFile(), d.tlsProtocols(), d.lineLengthLimit());
        reply("220 x\r\n");
        CompletableFuture<SmtpReply> done = conn.sendContent(new ByteArrayInputStream("hi\r\n".getBytes()), 998,
                settings.dataXferTimeout(), settings.dataDoneTimeout());
        channel.runPendingTasks();
        assertThat(sent()).isEqualTo("hi\r\n.\r\n");
        channel.advanceTimeBy(599, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(done).as("the data transfer timeout (180 s) does not run after the last byte").isNotDone();
        channel.advanceTimeBy(2, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(done).isCompletedExceptionally();
        assertThat(done.handle((r, e) -> SmtpConnection.unwrap(e).getMessage()).join()).isEqualTo(
                "conversation with relay.test[192.0.2.1]:25 timed out while sending end of data -- message may be sent more than once");
        assertThat(channel.isOpen()).isFalse();
    }
}
