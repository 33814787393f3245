package org.relaymta.core.internal.spool;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Rewrites every bare LF and bare CR to CRLF, and makes the content end with CRLF, so that what the
 * spool holds (and what leaves the relay) is CRLF-canonical: a bare newline can never become part of
 * an end-of-data sequence downstream (SMTP smuggling).
 */
public final class CrlfCanonicalizer extends FilterOutputStream {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte[] CRLF = {CR, LF};

    private boolean pendingCr;
    private boolean atLineStart = true;
    private boolean empty = true;
    private long bareNewlines;
    private boolean finished;

    public CrlfCanonicalizer(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        int end = off + len;
        int i = off;
        int runStart = off;
        if (pendingCr && i < end) {
            pendingCr = false;
            if (b[i] == LF) {
                // CR was written already; this LF (written with the run) completes a proper CRLF.
                i++;
            } else {
                // Bare CR: finish it as a line end before going on.
                out.write(LF);
                bareNewlines++;
            }
        }
        while (i < end) {
            // Most bytes are neither CR nor LF: skipped eight at a time, then one comparison each.
            while (i + 8 <= end && !hasCrOrLf((long) LONGS.get(b, i))) {
                i += 8;
            }
            if (i == end) {
                break;
            }
            byte c = b[i];
            if (c > CR || (c != CR && c != LF)) {
                i++;
            } else if (c == LF) {
                flushRun(b, runStart, i);
                out.write(CRLF);
                bareNewlines++;
                runStart = ++i;
            } else if (i + 1 == end) {
                // A CR at the end of this write: the next byte decides.
                flushRun(b, runStart, end);
                runStart = ++i;
                pendingCr = true;
            } else if (b[i + 1] == LF) {
                i += 2;
            } else {
                flushRun(b, runStart, i + 1);
                out.write(LF);
                bareNewlines++;
                runStart = ++i;
            }
        }
        flushRun(b, runStart, end);
        if (len > 0) {
            empty = false;
            byte last = b[end - 1];
            atLineStart = last == LF || (last == CR);
        }
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(
            long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    /** Whether any of the eight bytes is CR or LF (the classic "has zero byte" test on word ^ pattern). */
    static boolean hasCrOrLf(long word) {
        long cr = word ^ (ONES * CR);
        long lf = word ^ (ONES * LF);
        return ((((cr - ONES) & ~cr) | ((lf - ONES) & ~lf)) & HIGHS) != 0;
    }

    private void flushRun(byte[] b, int from, int to) throws IOException {
        if (to > from) {
            out.write(b, from, to - from);
        }
    }

    /** Completes a dangling CR and a last line without line end. Does not close the underlying stream. */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        if (pendingCr) {
            pendingCr = false;
            out.write(LF);
            bareNewlines++;
        } else if (!empty && !atLineStart) {
            out.write(CRLF);
        }
        out.flush();
    }

    /** How many bare LF or CR line ends were rewritten. */
    public long bareNewlines() {
        return bareNewlines;
    }

    @Override
    public void close() throws IOException {
        finish();
        super.close();
    }
}
