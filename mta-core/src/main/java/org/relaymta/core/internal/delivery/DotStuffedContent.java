package org.relaymta.core.internal.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Streams spooled content as SMTP DATA: a '.' at the start of a line is doubled (RFC 5321 4.5.2),
 * a line longer than {@code smtp_line_length_limit} (998 by default, not counting CRLF or a
 * doubled dot) is broken by inserting CR LF SPACE as Postfix does, and the terminating {@code
 * .CRLF} is appended after a final CRLF. The content is already CRLF-canonical (the spool
 * guarantees it), so a line start is exactly "after CRLF"; a continuation line starts with a
 * space, so a fold never creates a line-starting dot.
 */
final class DotStuffedContent implements ChunkedInput<ByteBuf> {
    private static final int CHUNK = 16 * 1024;

    private final InputStream in;
    private final byte[] buffer = new byte[CHUNK];
    private boolean atLineStart = true;
    private byte previous = '\n';
    private boolean endOfContent;
    private boolean terminatorSent;
    private long progress;
    private final int lineLimit;
    private final boolean heap;
    /** Bytes of the current line sent so far (CR LF and doubled dots not counted). */
    private int lineLength;

    DotStuffedContent(InputStream in) {
        this(in, 0);
    }

    /** {@code lineLimit} 0: lines are never broken. */
    DotStuffedContent(InputStream in, int lineLimit) {
        this(in, lineLimit, false);
    }

    /**
     * {@code heap}: chunks in heap memory, for a TLS session: the JDK's AES-GCM runs its fast path
     * on arrays, and a direct buffer costs it a copy into one per block run (measured in bench/:
     * GHASH in Java was a third of the relay's CPU on 256 KiB messages).
     */
    DotStuffedContent(InputStream in, int lineLimit, boolean heap) {
        this.in = in;
        this.lineLimit = lineLimit;
        this.heap = heap;
    }

    @Override
    public boolean isEndOfInput() {
        return terminatorSent;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    @Deprecated
    @Override
    public ByteBuf readChunk(ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public ByteBuf readChunk(ByteBufAllocator allocator) throws IOException {
        if (terminatorSent) {
            return null;
        }
        if (!endOfContent) {
            int n = in.read(buffer);
            if (n > 0) {
                // Worst case every byte is a line-starting dot: twice the size (folds add 3 per limit).
                int capacity = n + n / 2 + 16 + (lineLimit > 0 ? 3 * (n / lineLimit + 1) : 0);
                ByteBuf out = heap ? allocator.heapBuffer(capacity) : allocator.buffer(capacity);
                int runStart = 0;
                int i = 0;
                // Line by line: a search for LF, then the line's start (dot) and length (fold) are
                // looked at once instead of every byte being tested for each.
                while (i < n) {
                    if (atLineStart) {
                        atLineStart = false;
                        if (buffer[i] == '.') {
                            out.writeBytes(buffer, runStart, i - runStart);
                            out.writeByte('.');
                            runStart = i;
                        }
                    }
                    int lf = i;
                    while (lf + 8 <= n && !hasLf((long) LONGS.get(buffer, lf))) {
                        lf += 8;
                    }
                    while (lf < n && buffer[lf] != '\n') {
                        lf++;
                    }
                    int textEnd = lf > i && buffer[lf - 1] == '\r' ? lf - 1 : lf;
                    if (lineLimit > 0) {
                        int pos = i;
                        while (textEnd - pos > Math.max(0, lineLimit - lineLength)) {
                            // Fold before the character that would pass the limit; it starts the continuation.
                            pos += Math.max(0, lineLimit - lineLength);
                            out.writeBytes(buffer, runStart, pos - runStart);
                            out.writeByte('\r').writeByte('\n').writeByte(' ');
                            runStart = pos;
                            lineLength = 2;
                            pos++;
                        }
                        lineLength += textEnd - pos;
                    }
                    if (lf < n) {
                        // CR LF ends the line; a CR never stands alone in canonical content.
                        lineLength = 0;
                        atLineStart = lf > 0 ? buffer[lf - 1] == '\r' : previous == '\r';
                        i = lf + 1;
                    } else {
                        if (textEnd < n) {
                            lineLength = 0;
                        }
                        i = n;
                    }
                }
                out.writeBytes(buffer, runStart, n - runStart);
                previous = buffer[n - 1];
                progress += n;
                return out;
            }
            endOfContent = true;
        }
        terminatorSent = true;
        ByteBuf end = allocator.buffer(5);
        if (!atLineStart) {
            end.writeByte('\r').writeByte('\n');
        }
        end.writeByte('.').writeByte('\r').writeByte('\n');
        return end;
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(
            long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Whether any of the eight bytes is LF (the "has zero byte" test on word ^ 0x0A0A...). */
    private static boolean hasLf(long word) {
        long x = word ^ 0x0A0A0A0A0A0A0A0AL;
        return ((x - 0x0101010101010101L) & ~x & 0x8080808080808080L) != 0;
    }

    @Override
    public long length() {
        return -1;
    }

    @Override
    public long progress() {
        return progress;
    }
}
