package org.relaymta.core.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.io.InputStream;

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
    /** Bytes of the current line sent so far (CR LF and doubled dots not counted). */
    private int lineLength;

    DotStuffedContent(InputStream in) {
        this(in, 0);
    }

    /** {@code lineLimit} 0: lines are never broken. */
    DotStuffedContent(InputStream in, int lineLimit) {
        this.in = in;
        this.lineLimit = lineLimit;
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
                ByteBuf out = allocator.buffer(n + n / 2 + 16 + (lineLimit > 0 ? 3 * (n / lineLimit + 1) : 0));
                int runStart = 0;
                for (int i = 0; i < n; i++) {
                    byte c = buffer[i];
                    if (atLineStart && c == '.') {
                        out.writeBytes(buffer, runStart, i - runStart);
                        out.writeByte('.');
                        runStart = i;
                    }
                    if (c == '\r' || c == '\n') {
                        // CR LF ends the line; a CR never stands alone in canonical content.
                        lineLength = 0;
                    } else if (lineLimit > 0 && lineLength >= lineLimit) {
                        out.writeBytes(buffer, runStart, i - runStart);
                        out.writeByte('\r').writeByte('\n').writeByte(' ');
                        runStart = i;
                        lineLength = 2;
                    } else {
                        lineLength++;
                    }
                    atLineStart = c == '\n' && (i > 0 ? buffer[i - 1] == '\r' : previous == '\r');
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

    @Override
    public long length() {
        return -1;
    }

    @Override
    public long progress() {
        return progress;
    }
}
