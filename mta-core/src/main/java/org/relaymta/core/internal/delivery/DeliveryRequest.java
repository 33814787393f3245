package org.relaymta.core.internal.delivery;

import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Route;

/**
 * One SMTP transaction to make: a message's content, sender and the recipients that share a route.
 *
 * @param queueId    for logging
 * @param sender     envelope sender; empty for {@code <>}
 * @param recipients recipients with this route (at most the destination recipient limit)
 * @param size       content size in bytes
 * @param eightBit   content has bytes above 127 (BODY=8BITMIME needed)
 * @param content    opens the CRLF-canonical content; called once per session that reaches DATA
 * @param route      where and how to deliver
 * @param config     the configuration snapshot the route was made with (timeouts, host name)
 * @param requireTls the message was received with REQUIRETLS (RFC 8689)
 * @param gate       asked when a session is ready for MAIL FROM (quotas and shaping)
 */
public record DeliveryRequest(String queueId, String sender, List<String> recipients, long size, boolean eightBit,
                              Content content,
                              Route route, RelayConfig config, boolean requireTls, SendGate gate) {
    /** The longest header section read for {@link #tlsRequiredNo()}. */
    private static final int HEADER_LIMIT = 256 * 1024;

    public DeliveryRequest(String queueId, String sender, List<String> recipients, long size, boolean eightBit, Content content,
                           Route route, RelayConfig config) {
        this(queueId, sender, recipients, size, eightBit, content, route, config, false);
    }

    public DeliveryRequest(String queueId, String sender, List<String> recipients, long size, boolean eightBit, Content content,
                           Route route, RelayConfig config, boolean requireTls) {
        this(queueId, sender, recipients, size, eightBit, content, route, config, requireTls, SendGate.OPEN);
    }

    /**
     * Whether the message's header section says {@code TLS-Required: No} (RFC 8689 section 5): the
     * sender asks that the recipient domain's DANE and MTA-STS policies not stop it. Read from the
     * content, only when a policy would otherwise apply.
     */
    public boolean tlsRequiredNo() {
        try (InputStream in = content.open()) {
            BufferedReader r = new BufferedReader(new InputStreamReader(new BoundedInput(in, HEADER_LIMIT),
                    StandardCharsets.ISO_8859_1));
            String field = null;
            for (String line = r.readLine(); line != null && !line.isEmpty(); line = r.readLine()) {
                if (line.startsWith(" ") || line.startsWith("\t")) {
                    field = field == null ? null : field + line;
                    continue;
                }
                if (field != null && isNo(field)) {
                    return true;
                }
                field = line;
            }
            return field != null && isNo(field);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isNo(String field) {
        int colon = field.indexOf(':');
        return colon > 0 && field.substring(0, colon).strip().equalsIgnoreCase("TLS-Required")
                && field.substring(colon + 1).strip().equalsIgnoreCase("No");
    }

    /** Stops after {@code limit} bytes: a header section without an end is not read to the end of a large message. */
    private static final class BoundedInput extends FilterInputStream {
        private long left;

        BoundedInput(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            left--;
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }

    /** Opens a fresh stream of the message content. */
    @FunctionalInterface
    public interface Content {
        InputStream open() throws IOException;
    }
}
