package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CrlfCanonicalizerTest {

    private static String canonical(String input, int chunk) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CrlfCanonicalizer c = new CrlfCanonicalizer(out);
        byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < bytes.length; i += chunk) {
            c.write(bytes, i, Math.min(chunk, bytes.length - i));
        }
        c.finish();
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a\\r\\nb\\r\\n | a\\r\\nb\\r\\n | 0",
            "a\\nb\\n | a\\r\\nb\\r\\n | 2",
            "a\\rb\\r | a\\r\\nb\\r\\n | 2",
            "a\\n.\\nb | a\\r\\n.\\r\\nb\\r\\n | 2",
            "a\\r\\r\\nb | a\\r\\n\\r\\nb\\r\\n | 1",
            "no newline | no newline\\r\\n | 0",
            "x\\n\\r\\n.\\r | x\\r\\n\\r\\n.\\r\\n | 2",
    })
    void rewritesBareLineEndsWhateverTheChunking(String input, String expected, long bare) throws IOException {
        String in = unescape(input);
        String want = unescape(expected);
        for (int chunk : new int[] {1, 2, 3, 1000}) {
            assertThat(canonical(in, chunk)).as("chunk " + chunk).isEqualTo(want);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CrlfCanonicalizer c = new CrlfCanonicalizer(out);
        c.write(in.getBytes(StandardCharsets.ISO_8859_1));
        c.finish();
        assertThat(c.bareNewlines()).isEqualTo(bare);
    }

    /** Random text with CR, LF, CRLF and 8-bit bytes, in random pieces, against the rule applied byte by byte. */
    @org.junit.jupiter.api.Test
    void matchesTheByteByByteRuleOnRandomInput() throws IOException {
        Random random = new Random(7);
        for (int round = 0; round < 500; round++) {
            StringBuilder in = new StringBuilder();
            int length = random.nextInt(200);
            for (int i = 0; i < length; i++) {
                int k = random.nextInt(30);
                in.append(k == 0 ? '\r' : k == 1 ? '\n' : k == 2 ? "\r\n" : k == 3 ? String.valueOf((char) 0x8D)
                        : String.valueOf((char) ('a' + random.nextInt(26))));
            }
            String text = in.toString();
            StringBuilder want = new StringBuilder();
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '\r') {
                    want.append("\r\n");
                    if (i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                        i++;
                    }
                } else if (c == '\n') {
                    want.append("\r\n");
                } else {
                    want.append(c);
                }
            }
            if (want.length() > 0 && !want.toString().endsWith("\r\n")) {
                want.append("\r\n");
            }
            int chunk = 1 + random.nextInt(50);
            assertThat(canonical(text, chunk)).as("round %d chunk %d", round, chunk).isEqualTo(want.toString());
        }
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n");
    }
}
