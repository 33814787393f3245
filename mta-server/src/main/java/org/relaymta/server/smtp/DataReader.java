package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The DATA phase of one message: finds the end of data and removes dot-stuffing, working on
 * whatever pieces the network delivers. The end is only {@code CRLF . CRLF} (or {@code . CRLF}
 * right after the 354): a bare LF or CR never ends a line here, so none of the smuggling
 * variants ({@code LF . LF}, {@code CR . CRLF}, ...) can end the message early. Bare line ends are
 * passed on unchanged; the spool canonicalises or rejects them.
 */
final class DataReader {
    /** Receives unstuffed content in order. */
    interface Sink {
        void write(ByteBuf source, int index, int length);
    }

    private static final ByteBuf CR = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[] {'\r'}));
    private static final int TEXT = 0;
    private static final int LINE_START = 1;
    /** A '.' at the start of a line, held back: stuffing, or the start of the end line. */
    private static final int DOT = 2;
    /** ".\r" at the start of a line, held back. */
    private static final int DOT_CR = 3;

    private int state = LINE_START;
    private boolean lastWasCr;

    /**
     * Consumes content from {@code in}; returns true once the end-of-data line has been consumed
     * (the bytes after it are left in {@code in}: they are the client's next commands).
     */
    boolean read(ByteBuf in, Sink sink) {
        while (in.isReadable()) {
            int r = in.readerIndex();
            switch (state) {
                case LINE_START -> {
                    if (in.getByte(r) == '.') {
                        in.skipBytes(1);
                        state = DOT;
                    } else {
                        state = TEXT;
                        lastWasCr = false;
                    }
                }
                case DOT -> {
                    if (in.getByte(r) == '\r') {
                        in.skipBytes(1);
                        state = DOT_CR;
                    } else {
                        // The dot was stuffing: drop it, the rest of the line is content.
                        state = TEXT;
                        lastWasCr = false;
                    }
                }
                case DOT_CR -> {
                    if (in.getByte(r) == '\n') {
                        in.skipBytes(1);
                        state = LINE_START;
                        return true;
                    }
                    // ".\r" followed by something else: a stuffed dot before a bare CR.
                    sink.write(CR, 0, 1);
                    state = TEXT;
                    lastWasCr = true;
                }
                default -> {
                    int end = in.writerIndex();
                    int lf = in.indexOf(r, end, (byte) '\n');
                    if (lf < 0) {
                        lastWasCr = in.getByte(end - 1) == '\r';
                        sink.write(in, r, end - r);
                        in.readerIndex(end);
                    } else {
                        boolean crlf = lf > r ? in.getByte(lf - 1) == '\r' : lastWasCr;
                        sink.write(in, r, lf - r + 1);
                        in.readerIndex(lf + 1);
                        lastWasCr = false;
                        if (crlf) {
                            state = LINE_START;
                        }
                    }
                }
            }
        }
        return false;
    }
}
