package org.relaymta.server.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DataReaderTest {

    /** Feeds {@code wire} in pieces of {@code piece} bytes; returns the content and what is left after the end. */
    private static String[] read(String wire, int piece) {
        byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
        DataReader reader = new DataReader();
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        DataReader.Sink sink = (src, index, length) -> {
            byte[] b = new byte[length];
            src.getBytes(index, b);
            content.write(b, 0, length);
        };
        ByteBuf buffer = Unpooled.buffer();
        boolean ended = false;
        for (int i = 0; i < bytes.length && !ended; i += piece) {
            buffer.writeBytes(bytes, i, Math.min(piece, bytes.length - i));
            ended = reader.read(buffer, sink);
            if (ended) {
                int consumedUpTo = i + Math.min(piece, bytes.length - i) - buffer.readableBytes();
                return new String[] {content.toString(StandardCharsets.ISO_8859_1),
                        new String(bytes, consumedUpTo, bytes.length - consumedUpTo, StandardCharsets.ISO_8859_1)};
            }
        }
        return new String[] {content.toString(StandardCharsets.ISO_8859_1), null};
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 1000})
    void endsAtCrlfDotCrlfAndLeavesTheNextCommand(int piece) {
        String[] r = read("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", piece);
        assertEquals("Subject: x\r\n\r\nbody\r\n", r[0]);
        assertEquals("QUIT\r\n", r[1]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 1000})
    void removesStuffingDotsOnlyAtLineStart(int piece) {
        String[] r = read("..leading\r\na.b\r\n...\r\n.\r\n", piece);
        assertEquals(".leading\r\na.b\r\n..\r\n", r[0]);
        assertEquals("", r[1]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 1000})
    void anEmptyMessageEndsRightAway(int piece) {
        String[] r = read(".\r\nNOOP\r\n", piece);
        assertEquals("", r[0]);
        assertEquals("NOOP\r\n", r[1]);
    }

    /** Bare LF or CR never make a line end for the end of data: the smuggling variants stay content. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r.\r\n"})
    void smugglingVariantsAreContent(String sequence) {
        for (int piece : new int[] {1, 2, 1000}) {
            String[] r = read("a" + sequence + "MAIL FROM:<x@y>\r\n.\r\n", piece);
            assertTrue(r[0].startsWith("a"), r[0]);
            assertTrue(r[0].endsWith("MAIL FROM:<x@y>\r\n"), r[0]);
            assertEquals("", r[1]);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4, 1000})
    void aDotBeforeABareCrIsStuffing(int piece) {
        String[] r = read("x\r\n.\rtail\r\n.\r\n", piece);
        assertEquals("x\r\n\rtail\r\n", r[0]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 1000})
    void withoutTheEndLineNothingEnds(int piece) {
        String[] r = read("line\r\n.x\r\n", piece);
        assertEquals("line\r\nx\r\n", r[0]);
        assertNull(r[1]);
    }
}
