package org.relaymta.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandDecoderTest {

    /** Feeds {@code text} in pieces of {@code piece} bytes; returns every framed line ("<too long>" for the marker). */
    private static List<String> frame(String text, int piece) {
        CommandDecoder decoder = new CommandDecoder();
        ByteBuf buf = Unpooled.buffer();
        List<String> lines = new ArrayList<>();
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += piece) {
            buf.writeBytes(bytes, i, Math.min(piece, bytes.length - i));
            CommandDecoder.Line line;
            while ((line = decoder.next(buf)) != null) {
                lines.add(line.tooLong() ? "<too long>" : line.text());
            }
            buf.discardReadBytes();
        }
        return lines;
    }

    @Test
    void linesAreTheSameWhateverTheSplit() {
        String input = "EHLO a.test\r\nMAIL FROM:<\"a b\"@c.test> SIZE=10\r\nbare lf\nRCPT TO:<x@[192.0.2.1]>\r\n\r\n";
        for (int piece : new int[] {1, 2, 3, 7, 1000}) {
            assertThat(frame(input, piece)).as("pieces of %d", piece).containsExactly("EHLO a.test",
                    "MAIL FROM:<\"a b\"@c.test> SIZE=10", "bare lf", "RCPT TO:<x@[192.0.2.1]>", "");
        }
    }

    @Test
    void theLimitCountsTheTextOnlyAndALongerLineIsReportedOnceAndSkipped() {
        String max = "NOOP " + "x".repeat(CommandDecoder.MAX_LINE - 5);
        String over = max + "y";
        String longer = "x".repeat(3 * CommandDecoder.MAX_LINE);
        for (int piece : new int[] {1, 100, 5000, 20000}) {
            assertThat(frame(max + "\r\n" + over + "\r\n" + longer + "\r\nQUIT\r\n", piece)).as("pieces of %d", piece)
                    .containsExactly(max, "<too long>", "<too long>", "QUIT");
        }
    }

    @Test
    void verbAndArgument() {
        assertThat(CommandDecoder.Command.parse("mail FROM:<a@b>  ")).isEqualTo(new CommandDecoder.Command("MAIL", "FROM:<a@b>"));
        assertThat(CommandDecoder.Command.parse("QUIT")).isEqualTo(new CommandDecoder.Command("QUIT", ""));
    }
}
