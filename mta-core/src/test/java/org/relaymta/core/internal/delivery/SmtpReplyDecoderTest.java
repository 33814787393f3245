package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmtpReplyDecoderTest {

    private static void feed(EmbeddedChannel ch, String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
    }

    @Test
    void reassemblesMultiLineRepliesSplitAnywhere() {
        String ehlo = "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 AUTH PLAIN LOGIN\r\n";
        for (int split = 1; split < ehlo.length(); split++) {
            EmbeddedChannel ch = new EmbeddedChannel(new SmtpReplyDecoder());
            feed(ch, ehlo.substring(0, split));
            feed(ch, ehlo.substring(split));
            SmtpReply reply = ch.readInbound();
            assertThat(reply.code()).isEqualTo(250);
            assertThat(reply.lines()).containsExactly("mx.test Hello", "PIPELINING", "SIZE 1000", "AUTH PLAIN LOGIN");
            assertThat((Object) ch.readInbound()).isNull();
        }
    }

    @Test
    void decodesSeveralRepliesInOneReadAndBareLf() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmtpReplyDecoder());
        feed(ch, "250 2.1.0 Ok\r\n451 4.3.0 busy\n354 go ahead\r\n");
        assertThat(List.of(ch.<SmtpReply>readInbound().oneLine(), ch.<SmtpReply>readInbound().oneLine(),
                ch.<SmtpReply>readInbound().oneLine()))
                .containsExactly("250 2.1.0 Ok", "451 4.3.0 busy", "354 go ahead");
    }

    @Test
    void enhancedStatusMustAgreeWithTheReplyClass() {
        assertThat(new SmtpReply(550, List.of("5.1.1 <b@x>: unknown")).enhancedStatus()).isEqualTo("5.1.1");
        assertThat(new SmtpReply(451, List.of("5.1.1 wrong class")).enhancedStatus()).isEqualTo("4.0.0");
        assertThat(new SmtpReply(250, List.of("Ok")).enhancedStatus()).isEqualTo("2.0.0");
        assertThat(new SmtpReply(535, List.of("5.7.8 Error: authentication failed")).enhancedStatus()).isEqualTo("5.7.8");
    }

    @Test
    void garbageIsAProtocolError() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmtpReplyDecoder());
        assertThatThrownBy(() -> feed(ch, "HTTP/1.1 400 Bad Request\r\n")).isInstanceOf(DecoderException.class)
                .hasMessageContaining("malformed SMTP reply line");
    }

    @Test
    void aBareCrOrOtherControlCharacterInAReplyIsEscaped() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmtpReplyDecoder());
        feed(ch, "250 2.0.0 queued\rDec  4 07:00:00 relay postfix/smtp[1]: forged status=sent\u001b[2J\r\n");
        SmtpReply reply = ch.readInbound();
        assertThat(reply.oneLine()).isEqualTo("250 2.0.0 queued\\rDec  4 07:00:00 relay postfix/smtp[1]: forged status=sent\\x1b[2J");
    }
}
