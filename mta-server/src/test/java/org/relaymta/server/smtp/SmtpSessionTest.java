package org.relaymta.server.smtp;

import org.relaymta.testing.MovedClock;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.RelayConfig;

/**
 * A whole session on an {@link EmbeddedChannel}, every command fed one byte at a time: each gets
 * exactly one reply, and none before its line is complete.
 */
class SmtpSessionTest {
    @TempDir
    Path dir;
    private EmbeddedChannel channel;
    private RelayListener.Shared shared;
    private final FakeReceiver receiver = new FakeReceiver();

    private String open(String client, String... mainCf) {
        RelayConfig cfg = ListenerTestConfig.load(dir, mainCf);
        shared = new RelayListener.Shared(receiver, () -> cfg, null, null, new MovedClock());
        InetSocketAddress remote = new InetSocketAddress(client, 40000);
        channel = new EmbeddedChannel() {
            @Override
            protected SocketAddress remoteAddress0() {
                return remote;
            }
        };
        channel.pipeline().addLast(new SmtpSession(shared, RelayListener.Mode.RELAY, cfg, false));
        channel.pipeline().fireChannelActive();
        return sent();
    }

    @AfterEach
    void close() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
        if (shared != null) {
            shared.close();
        }
    }

    /** Sends {@code line} CR LF byte by byte; nothing may be answered before the last byte. */
    private String say(String line) {
        byte[] bytes = (line + "\r\n").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {bytes[i]}));
            if (i < bytes.length - 1) {
                assertThat(sent()).as("answered before the end of %s", line).isEmpty();
            }
        }
        return sent();
    }

    private void raw(String text) {
        channel.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    private String sent() {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return out.toString();
    }

    @Test
    void aConversationSplitAtEveryByte() {
        assertThat(open("127.0.0.1", "myhostname = mx.test")).isEqualTo("220 mx.test ESMTP Relay MTA\r\n");
        assertThat(say("EHLO client.test")).startsWith("250-mx.test\r\n250-PIPELINING\r\n").contains("250-AUTH PLAIN LOGIN")
                .endsWith("250 SMTPUTF8\r\n");
        assertThat(say("MAIL FROM:<\"a b\"@one.test> SIZE=100 BODY=8BITMIME")).isEqualTo("250 2.1.0 Ok\r\n");
        assertThat(say("RCPT TO:<x@[192.0.2.1]>")).isEqualTo("250 2.1.5 Ok\r\n");
        assertThat(say("RCPT TO:<\"quoted local\"@ext.test>")).isEqualTo("250 2.1.5 Ok\r\n");
        assertThat(say("RCPT TO:<bad address@ext.test>")).startsWith("501 5.1.3");
        assertThat(say("RSET")).isEqualTo("250 2.0.0 Ok\r\n");
        assertThat(say("MAIL FROM:<a@one.test> SIZE=-1")).isEqualTo("501 5.5.4 Bad SIZE parameter\r\n");
        assertThat(say("NOOP " + "x".repeat(CommandDecoder.MAX_LINE - 5))).as("4096 bytes of text, CR LF not counted")
                .isEqualTo("250 2.0.0 Ok\r\n");
        raw("NOOP " + "x".repeat(CommandDecoder.MAX_LINE - 4) + "\r\n");
        assertThat(sent()).as("one byte more: refused once, as soon as it is too long").isEqualTo(
                "500 5.5.6 Error: line too long\r\n");
        assertThat(say("QUIT")).isEqualTo("221 2.0.0 Bye\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aRefusedBdatChunkIsSkippedNotReadAsCommands() {
        open("127.0.0.1");
        say("EHLO client.test");
        String chunk = "QUIT\r\nRSET\r\n";
        raw("BDAT " + chunk.length() + " LAST\r\n" + chunk.substring(0, 5));
        assertThat(sent()).as("nothing before the whole chunk was read").isEmpty();
        raw(chunk.substring(5) + "NOOP\r\n");
        assertThat(sent()).isEqualTo("502 5.5.1 Error: command not implemented\r\n250 2.0.0 Ok\r\n");
        assertThat(channel.isOpen()).as("the QUIT inside the chunk was not obeyed").isTrue();
        raw("BDAT lots\r\n");
        assertThat(sent()).startsWith("421 4.7.0");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void recipientsOverTheLimitAre452WithoutEndingTheSession() {
        open("127.0.0.1", "smtpd_recipient_limit = 5", "smtpd_hard_error_limit = 3");
        say("EHLO client.test");
        say("MAIL FROM:<a@one.test>");
        StringBuilder rcpts = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            rcpts.append("RCPT TO:<r").append(i).append("@ext.test>\r\n");
        }
        raw(rcpts.toString());
        String replies = sent();
        assertThat(replies.split("\r\n")).hasSize(20);
        assertThat(replies.split("250 2.1.5 Ok", -1)).hasSize(6);
        assertThat(replies.split("452 4.5.3 Error: too many recipients", -1)).hasSize(16);
        assertThat(channel.isOpen()).as("15 over the limit, within the overshoot: no error counted").isTrue();
        assertThat(say("RCPT TO:<bad@>")).startsWith("501");
        assertThat(say("RCPT TO:<bad@>")).startsWith("501");
        assertThat(say("RCPT TO:<bad@>")).as("the third real error").startsWith("421 4.7.0");
    }

    @Test
    void noRelayOutsideMynetworksAndNoMailWithoutSpoolRoom() {
        open("192.0.2.9", "mynetworks = 127.0.0.0/8");
        say("EHLO client.test");
        say("MAIL FROM:<a@one.test>");
        assertThat(say("RCPT TO:<b@ext.test>")).isEqualTo("554 5.7.1 <b@ext.test>: Relay access denied\r\n");
        say("RSET");
        receiver.room = false;
        assertThat(say("MAIL FROM:<a@one.test>")).isEqualTo("452 4.3.1 Insufficient system storage\r\n");
    }
}
