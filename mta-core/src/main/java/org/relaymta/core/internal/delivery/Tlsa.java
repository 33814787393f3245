package org.relaymta.core.internal.delivery;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One TLSA record (RFC 6698): certificate usage, selector, matching type and the association data.
 * For SMTP only DANE-TA(2) and DANE-EE(3) are usable (RFC 7672 section 3.1.3).
 */
record Tlsa(int usage, int selector, int matching, byte[] data) {
    static final int DANE_TA = 2;
    static final int DANE_EE = 3;

    Tlsa {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /** A record this relay can use: DANE-TA or DANE-EE, full certificate or SPKI, exact, SHA-256 or SHA-512. */
    boolean usable() {
        return (usage == DANE_TA || usage == DANE_EE) && (selector == 0 || selector == 1) && matching >= 0 && matching <= 2
                && (matching != 1 || data.length == 32) && (matching != 2 || data.length == 64);
    }

    boolean matches(byte[] digestOrData) {
        return Arrays.equals(data, digestOrData);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tlsa t && t.usage == usage && t.selector == selector && t.matching == matching
                && Arrays.equals(t.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * usage + selector) + matching) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return usage + " " + selector + " " + matching + " " + HexFormat.of().formatHex(data);
    }
}
