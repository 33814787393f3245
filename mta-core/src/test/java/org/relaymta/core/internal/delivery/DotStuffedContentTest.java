package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
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

    /**
     * The line-at-a-time implementation against the rule stated byte by byte (a dot after CR LF is
     * doubled; a character arriving when the line already holds {@code limit} characters is moved
     * to a continuation line that starts with a space), on random CRLF-canonical content with dots,
     * long lines and 8-bit bytes, read in random pieces.
     */
    @org.junit.jupiter.api.Test
    void matchesTheByteByByteRuleOnRandomContent() throws IOException {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            StringBuilder text = new StringBuilder();
            int lines = random.nextInt(20);
            for (int l = 0; l < lines; l++) {
                int length = random.nextInt(4) == 0 ? random.nextInt(3000) : random.nextInt(80);
                for (int c = 0; c < length; c++) {
                    int kind = random.nextInt(20);
                    text.append(kind == 0 ? '.' : kind == 1 ? (char) 0xE9 : (char) ('a' + random.nextInt(26)));
                }
                text.append("\r\n");
            }
            if (random.nextBoolean()) {
                text.append(".tail");
            }
            byte[] in = text.toString().getBytes(StandardCharsets.ISO_8859_1);
            int limit = new int[] {0, 1, 2, 5, 78, 998}[random.nextInt(6)];
            int piece = 1 + random.nextInt(40);
            InputStream pieces = new ByteArrayInputStream(in) {
                @Override
                public synchronized int read(byte[] b, int off, int len) {
                    return super.read(b, off, Math.min(piece, len));
                }
            };
            assertThat(drainBytes(new DotStuffedContent(pieces, limit))).as("round %d, limit %d", round, limit)
                    .isEqualTo(reference(in, limit));
        }
    }

    private static String reference(byte[] in, int limit) {
        StringBuilder out = new StringBuilder();
        boolean lineStart = true;
        int length = 0;
        for (int i = 0; i < in.length; i++) {
            char c = (char) (in[i] & 0xff);
            if (lineStart && c == '.') {
                out.append('.');
            }
            if (c == '\r' || c == '\n') {
                length = 0;
            } else if (limit > 0 && length >= limit) {
                out.append("\r\n ");
                length = 2;
            } else {
                length++;
            }
            out.append(c);
            lineStart = c == '\n' && i > 0 && in[i - 1] == '\r';
        }
        if (!lineStart && in.length > 0) {
            out.append("\r\n");
        }
        return out.append(".\r\n").toString();
    }

    private static String drainBytes(DotStuffedContent content) throws IOException {
        StringBuilder sb = new StringBuilder();
        ByteBuf chunk;
        while ((chunk = content.readChunk(ByteBufAllocator.DEFAULT)) != null) {
            sb.append(chunk.toString(StandardCharsets.ISO_8859_1));
            chunk.release();
        }
        return sb.toString();
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
