package org.relaymta.core.internal.cleanup;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The DKIM body hash ({@code bh=}) with relaxed body canonicalization (RFC 6376 section 3.4.4),
 * computed while the body streams past: spaces and tabs at line ends dropped, other runs made one
 * space, empty lines at the end ignored, a non-empty body ending with one CRLF. The input is
 * CRLF-canonical (no bare CR or LF).
 */
final class RelaxedBodyHash {
    private static final byte[] CRLF = {'\r', '\n'};
    private final MessageDigest sha256;
    private final byte[] out = new byte[8192];
    private int outCount;
    private long pendingLineEnds;
    private boolean pendingSpace;
    private boolean emittedAny;

    RelaxedBodyHash() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    void update(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (c == '\r') {
                continue;   // always followed by LF in canonical content
            }
            if (c == '\n') {
                pendingSpace = false;
                pendingLineEnds++;
                continue;
            }
            if (c == ' ' || c == '\t') {
                pendingSpace = true;
                continue;
            }
            while (pendingLineEnds > 0) {
                emit((byte) '\r');
                emit((byte) '\n');
                pendingLineEnds--;
            }
            if (pendingSpace) {
                emit((byte) ' ');
                pendingSpace = false;
            }
            emit(c);
            emittedAny = true;
        }
    }

    private void emit(byte c) {
        if (outCount == out.length) {
            sha256.update(out, 0, outCount);
            outCount = 0;
        }
        out[outCount++] = c;
    }

    byte[] digest() {
        sha256.update(out, 0, outCount);
        outCount = 0;
        if (emittedAny) {
            sha256.update(CRLF);
        }
        return sha256.digest();
    }
}
