package org.relaymta.core.internal.spool;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Passes content through and keeps the first {@link #LIMIT} bytes of its header section, for the
 * {@code Message-ID} that Postfix's cleanup logs ({@code QUEUEID: message-id=<...>}): log tools find a
 * message by it. Only the header section is looked at, and nothing is kept once it has ended.
 */
public final class MessageIdSniffer extends FilterOutputStream {
    static final int LIMIT = 16 * 1024;

    private final byte[] head = new byte[LIMIT];
    private int length;
    private boolean headerDone;

    public MessageIdSniffer(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        if (!headerDone) {
            look(new byte[] {(byte) b}, 0, 1);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        look(b, off, len);
    }

    private void look(byte[] b, int off, int len) {
        if (headerDone) {
            return;
        }
        int n = Math.min(len, LIMIT - length);
        System.arraycopy(b, off, head, length, n);
        int from = Math.max(0, length - 3);
        length += n;
        for (int i = from; i + 1 < length; i++) {
            if (head[i] == '\n' && (head[i + 1] == '\n' || head[i + 1] == '\r' && i + 2 < length && head[i + 2] == '\n')) {
                headerDone = true;
                length = i + 1;
                return;
            }
        }
        if (length == LIMIT) {
            headerDone = true;
        }
    }

    /** The Message-ID field's value as written ({@code <id@host>}), unfolded; empty when there is none. */
    public String messageId() {
        String text = new String(head, 0, length, StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r?\n");
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (l.length() > 11 && l.substring(0, 11).toLowerCase(Locale.ROOT).equals("message-id:")) {
                StringBuilder v = new StringBuilder(l.substring(11));
                for (int j = i + 1; j < lines.length && !lines[j].isEmpty() && (lines[j].charAt(0) == ' '
                        || lines[j].charAt(0) == '\t'); j++) {
                    v.append(lines[j]);
                }
                String value = v.toString().strip();
                StringBuilder safe = new StringBuilder();
                for (char c : value.toCharArray()) {
                    if (c >= 0x21 && c <= 0x7e) {
                        safe.append(c);
                    }
                }
                return safe.length() > 998 ? safe.substring(0, 998) : safe.toString();
            }
        }
        return "";
    }
}
