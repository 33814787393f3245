package org.relaymta.core.internal.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.internal.LogText;

/**
 * Decodes SMTP replies: lines {@code NNN-text} continue a reply, {@code NNN text} ends it. Lines end
 * at LF (a preceding CR is dropped). Replies split across reads are reassembled.
 */
final class SmtpReplyDecoder extends ByteToMessageDecoder {
    static final int MAX_LINE = 4096;
    static final int MAX_LINES = 200;

    private final List<String> lines = new ArrayList<>();
    private int currentCode = -1;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (true) {
            int eol = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            if (eol < 0) {
                if (in.readableBytes() > MAX_LINE) {
                    in.skipBytes(in.readableBytes());
                    throw new TooLongFrameException("SMTP reply line longer than " + MAX_LINE + " bytes");
                }
                return;
            }
            int length = eol - in.readerIndex();
            if (length > MAX_LINE) {
                in.skipBytes(length + 1);
                throw new TooLongFrameException("SMTP reply line longer than " + MAX_LINE + " bytes");
            }
            int contentLength = length > 0 && in.getByte(eol - 1) == '\r' ? length - 1 : length;
            String line = in.toString(in.readerIndex(), contentLength, StandardCharsets.UTF_8);
            in.skipBytes(length + 1);
            SmtpReply reply = addLine(line);
            if (reply != null) {
                // One reply per call: it is handled before the next bytes are decoded, so bytes that
                // follow a 220 to STARTTLS are still buffered when that reply is seen.
                out.add(reply);
                return;
            }
        }
    }

    private SmtpReply addLine(String line) {
        if (line.length() < 3 || !Character.isDigit(line.charAt(0)) || !Character.isDigit(line.charAt(1))
                || !Character.isDigit(line.charAt(2)) || (line.length() > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-')) {
            throw new DecoderException("malformed SMTP reply line: " + printable(line));
        }
        int code = Integer.parseInt(line.substring(0, 3));
        if (currentCode >= 0 && code != currentCode) {
            throw new DecoderException("SMTP reply code changed inside a multi-line reply: " + printable(line));
        }
        currentCode = code;
        // The text goes on into logs, the spool's state, events and bounces: a bare CR or other control
        // character in it is escaped here, once, so none of those can be split or forged by a server.
        lines.add(line.length() > 4 ? LogText.controls(line.substring(4)) : "");
        if (lines.size() > MAX_LINES) {
            throw new DecoderException("SMTP reply with more than " + MAX_LINES + " lines");
        }
        boolean last = line.length() == 3 || line.charAt(3) == ' ';
        if (!last) {
            return null;
        }
        SmtpReply reply = new SmtpReply(code, lines);
        lines.clear();
        currentCode = -1;
        return reply;
    }

    /** True when bytes beyond the replies decoded so far are waiting (STARTTLS response injection check). */
    boolean hasBufferedBytes() {
        return actualReadableBytes() > 0 || !lines.isEmpty();
    }

    private static String printable(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
