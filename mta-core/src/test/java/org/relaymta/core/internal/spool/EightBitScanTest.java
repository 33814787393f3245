package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class EightBitScanTest {

    /** Eight bytes per step must still see a high bit at every position, and nothing outside the range. */
    @Test
    void findsAHighBitAtEveryPositionAndOnlyInsideTheRange() {
        for (int len = 0; len < 40; len++) {
            for (int at = 0; at < len; at++) {
                byte[] b = new byte[len + 6];
                Arrays.fill(b, (byte) 'a');
                b[3 + at] = (byte) 0xC3;
                assertThat(SpoolWriter.hasEightBit(b, 3, len)).as("len %d at %d", len, at).isTrue();
            }
            byte[] clean = new byte[len + 6];
            Arrays.fill(clean, (byte) 0x7F);
            clean[0] = clean[1] = clean[2] = (byte) 0x80;
            clean[len + 3] = (byte) 0xFF;
            assertThat(SpoolWriter.hasEightBit(clean, 3, len)).as("len %d clean", len).isFalse();
        }
    }
}
