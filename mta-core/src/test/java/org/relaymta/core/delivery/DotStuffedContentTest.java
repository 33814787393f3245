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
