package org.relaymta.server.smtp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Bytes to command lines: a line ends at LF (a CR before it is dropped), and its text may be at
 * most {@link #MAX_LINE} bytes (RFC 5321 asks for 512; AUTH responses need more). A longer line is
 * reported once as {@link Line#TOO_LONG} and its rest skipped, however it arrives. It only frames;
 * what a command means is the verb handlers' business.
 */
final class CommandDecoder {
    /** Longest command text accepted, CR LF not counted. */
    static final int MAX_LINE = 4096;

    /** One framed line, or {@link #TOO_LONG}. */
    record Line(String text) {
        static final Line TOO_LONG = new Line(null);

        boolean tooLong() {
            return text == null;
        }
    }

    /** A command line split into its verb (upper case) and argument. */
    record Command(String verb, String argument) {
        static Command parse(String line) {
            int space = line.indexOf(' ');
            String verb = (space < 0 ? line : line.substring(0, space)).toUpperCase(Locale.ROOT);
            return new Command(verb, space < 0 ? "" : line.substring(space + 1).strip());
        }
    }

    private boolean discarding;

    /** The next line from {@code input}, or null until a whole line (or too many bytes) has arrived. */
    Line next(ByteBuf input) {
        while (input.isReadable()) {
            int start = input.readerIndex();
            int lf = input.indexOf(start, input.writerIndex(), (byte) '\n');
            if (lf < 0) {
                // A CR may still be followed by its LF: it does not count against the limit.
                if (input.readableBytes() > MAX_LINE + 1) {
                    input.skipBytes(input.readableBytes());
                    if (!discarding) {
                        discarding = true;
                        return Line.TOO_LONG;
                    }
                }
                return null;
            }
            int end = lf > start && input.getByte(lf - 1) == '\r' ? lf - 1 : lf;
            input.readerIndex(lf + 1);
            if (discarding) {
                // The end of a line already reported as too long.
                discarding = false;
                continue;
            }
            if (end - start > MAX_LINE) {
                return Line.TOO_LONG;
            }
            return new Line(input.toString(start, end - start, StandardCharsets.UTF_8));
        }
        return null;
    }
}
