package org.relaymta.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DotStuffedContentTest {

    /** Reads one byte per read() call, to prove stuffing state crosses chunk boundaries. */
    private static InputStream trickle(byte[] data) {
        return new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(1, len));
            }
        };
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a\\r\\nb\\r\\n | a\\r\\nb\\r\\n.\\r\\n",
            ".leading\\r\\n | ..leading\\r\\n.\\r\\n",
            "a\\r\\n.\\r\\nb\\r\\n | a\\r\\n..\\r\\nb\\r\\n.\\r\\n",
            "a\\r\\n..x\\r\\n | a\\r\\n...x\\r\\n.\\r\\n",
            "no final crlf | no final crlf\\r\\n.\\r\\n",
            "mid.dot\\r\\n | mid.dot\\r\\n.\\r\\n",
    })
    void stuffsLineStartingDotsAndTerminates(String input, String expected) throws IOException {
        byte[] in = input.replace("\\r", "\r").replace("\\n", "\n").getBytes(StandardCharsets.US_ASCII);
        String want = expected.replace("\\r", "\r").replace("\\n", "\n");
        assertThat(drain(new DotStuffedContent(new ByteArrayInputStream(in)))).isEqualTo(want);
        assertThat(drain(new DotStuffedContent(trickle(in)))).isEqualTo(want);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "abcdefgh\\r\\n | abcd\\r\\n efg\\r\\n h\\r\\n.\\r\\n",
            "abcd\\r\\n | abcd\\r\\n.\\r\\n",
            ".bcdefg\\r\\n.. | ..bcd\\r\\n efg\\r\\n...\\r\\n.\\r\\n",
            "abcd.fgh\\r\\n | abcd\\r\\n .fg\\r\\n h\\r\\n.\\r\\n",
    })
    void breaksLinesLongerThanTheLimitWithCrLfSpace(String input, String expected) throws IOException {
        byte[] in = input.replace("\\r", "\r").replace("\\n", "\n").getBytes(StandardCharsets.US_ASCII);
        String want = expected.replace("\\r", "\r").replace("\\n", "\n");
        assertThat(drain(new DotStuffedContent(new ByteArrayInputStream(in), 4))).isEqualTo(want);
        assertThat(drain(new DotStuffedContent(trickle(in), 4))).isEqualTo(want);
    }

    @org.junit.jupiter.api.Test
    void aLongLineArrivesFoldedWithNoLineOver998AndUnfoldsToTheOriginal() throws IOException {
        String line = "x".repeat(2000) + "." + "y".repeat(2500);
        String message = "Subject: long\r\n\r\n" + line + "\r\nshort\r\n";
        String sent = drain(new DotStuffedContent(new ByteArrayInputStream(message.getBytes(StandardCharsets.US_ASCII)),
                998));
        for (String l : sent.split("\r\n")) {
            assertThat(l.length()).isLessThanOrEqualTo(998);
        }
        assertThat(sent).endsWith("\r\nshort\r\n.\r\n");
        // Unfolding (RFC 5322 style: CRLF followed by white space) gives the original back.
        assertThat(sent.substring(0, sent.length() - 3).replace("\r\n ", "")).isEqualTo(message);
        assertThat(drain(new DotStuffedContent(new ByteArrayInputStream(message.getBytes(StandardCharsets.US_ASCII)), 0)))
                .as("0: no limit").isEqualTo(message + ".\r\n");
    }

    private static String drain(DotStuffedContent content) throws IOException {
        StringBuilder sb = new StringBuilder();
        ByteBuf chunk;
        while ((chunk = content.readChunk(ByteBufAllocator.DEFAULT)) != null) {
            sb.append(chunk.toString(StandardCharsets.US_ASCII));
            chunk.release();
        }
        assertThat(content.isEndOfInput()).isTrue();
        return sb.toString();
    }
}
