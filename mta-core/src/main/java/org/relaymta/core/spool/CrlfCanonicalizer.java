package org.relaymta.core.spool;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

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
        int runStart = off;
        int end = off + len;
        for (int i = off; i < end; i++) {
            byte c = b[i];
            if (pendingCr) {
                pendingCr = false;
                if (c == LF) {
                    // CR was written already; this LF completes a proper CRLF.
                    continue;
                }
                // Bare CR: finish it as a line end before going on.
                flushRun(b, runStart, i);
                out.write(LF);
                bareNewlines++;
                runStart = i;
            }
            if (c == CR) {
                flushRun(b, runStart, i + 1);
                runStart = i + 1;
                pendingCr = true;
            } else if (c == LF) {
                flushRun(b, runStart, i);
                out.write(CRLF);
                bareNewlines++;
                runStart = i + 1;
            }
        }
        flushRun(b, runStart, end);
        if (len > 0) {
            empty = false;
            byte last = b[end - 1];
            atLineStart = last == LF || (last == CR);
        }
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
