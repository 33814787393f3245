package org.relaymta.core.internal.cleanup;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.core.internal.delivery.DeliveryRequest;
import org.relaymta.core.internal.spool.HeaderField;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix {@code smtp_header_checks}: the header section of what the client sends is rewritten on
 * the way out (IGNORE, REPLACE, PREPEND, WARN), the spooled message is not. The usual use is to drop
 * internal {@code Received:} lines before a smarthost. Applied at every delivery, so a change to the
 * table applies to queued mail too.
 */
public final class SmtpHeaderChecks {
    private static final Logger DELIVERY_LOG = LoggerFactory.getLogger("org.relaymta.delivery");

    private SmtpHeaderChecks() {
    }

    /** {@code content} with the checks applied when it is opened; {@code content} itself when there are none. */
    public static DeliveryRequest.Content wrap(DeliveryRequest.Content content, HeaderChecks checks, String queueId) {
        if (checks.isEmpty()) {
            return content;
        }
        return () -> rewrite(content.open(), checks, queueId);
    }

    static InputStream rewrite(InputStream in, HeaderChecks checks, String queueId) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream(4096);
        int last4 = 0;
        boolean separator = false;
        while (header.size() < MessageCleanup.HEADER_LIMIT) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            header.write(b);
            last4 = (last4 << 8) | b;
            if (last4 == 0x0d0a0d0a || header.size() == 2 && last4 == 0x0d0a) {
                separator = true;
                break;
            }
        }
        byte[] section = header.toByteArray();
        int fieldsLength = separator ? section.length - 2 : section.length;
        List<HeaderField> fields = HeaderField.parse(section, fieldsLength);
        List<HeaderField> kept = new ArrayList<>(fields.size());
        for (HeaderField f : fields) {
            HeaderChecks.Result r = checks.match(f.logicalLine()).orElse(null);
            if (r == null || !HeaderEdits.apply(f, r, kept, DELIVERY_LOG, queueId, "")) {
                kept.add(f);   // no rule, or one the table's loading already refused here
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(section.length + 256);
        for (HeaderField f : kept) {
            out.writeBytes(f.raw());
        }
        if (separator) {
            out.write('\r');
            out.write('\n');
        }
        return new SequenceInputStream(new ByteArrayInputStream(out.toByteArray()), in);
    }
}
