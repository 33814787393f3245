package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Router;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.Snapshots;

/**
 * A server's side of one SMTP connection on an {@link EmbeddedChannel}: the test plays the server
 * with {@link #reply}, sees what the client sent with {@link #sent}, and moves the channel's clock.
 */
final class EmbeddedSmtp {
    final EmbeddedChannel channel = new EmbeddedChannel();
    final SmtpConnection conn;
    final Target target;
    final RelayConfig cfg;

    EmbeddedSmtp() {
        this(RelaySettings.defaults().defaultRelayHost("[relay.test]:25").hostname("relay.local"));
    }

    EmbeddedSmtp(RelaySettings settings) {
        channel.freezeTime();
        conn = SmtpConnection.on(channel, "relay.test[192.0.2.1]:25");
        try {
            target = new Target("relay.test", InetAddress.getByName("192.0.2.1"), 25);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        cfg = Snapshots.of(settings);
    }

    /** Feeds the server's {@code reply}; before its last byte nothing may be sent. Returns what was sent after it. */
    String reply(String reply) {
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

    /** Everything the client wrote since the last call. */
    String sent() {
        channel.runPendingTasks();
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    /** Moves the channel's clock and runs the timers that became due. */
    void advance(long seconds) {
        channel.advanceTimeBy(seconds, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    /** The server closes the connection. */
    void hangUp() {
        channel.close();
        channel.runPendingTasks();
    }

    DeliveryRequest request(String sender, List<String> rcpts, String content, boolean eightBit) {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        return new DeliveryRequest("TESTID", sender, rcpts, bytes.length, eightBit, () -> new ByteArrayInputStream(bytes),
                Router.route(cfg, sender, rcpts.get(0)), cfg);
    }

    /** An open session as the opener would leave it, after an EHLO reply with {@code ehloLines}. */
    OpenSession session(String... ehloLines) {
        reply("220 relay.test ESMTP\r\n");   // the greeting's slot, which the opener would have taken
        return new OpenSession(conn, Capabilities.parse(new SmtpReply(250, List.of(ehloLines))), "");
    }
}
