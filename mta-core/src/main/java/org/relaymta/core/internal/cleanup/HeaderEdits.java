package org.relaymta.core.internal.cleanup;

import org.relaymta.core.internal.spool.HeaderField;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.relaymta.config.internal.HeaderChecks;
import org.slf4j.Logger;

/**
 * The header_checks actions that edit one header field (IGNORE, REPLACE, PREPEND, WARN; DUNNO and
 * OK keep it), shared by header_checks when mail is accepted and smtp_header_checks at delivery.
 */
final class HeaderEdits {
    private HeaderEdits() {
    }

    /**
     * Adds what stays of {@code f} under {@code r} to {@code out} and logs it in Postfix's form
     * ({@code ID: replace: header LINE<context>: TEXT}); false, with nothing added, for the actions
     * that decide about the whole message (REJECT, DISCARD, HOLD).
     */
    static boolean apply(HeaderField f, HeaderChecks.Result r, List<HeaderField> out, Logger log, String queueId,
                         String context) {
        String line = f.logicalLine();
        switch (r.action()) {
            case IGNORE -> { }
            case REPLACE -> {
                log.info("{}: replace: header {}{}: {}", queueId, line, context, r.text());
                out.add(headerLine(r.text()));
            }
            case PREPEND -> {
                log.info("{}: prepend: header {}{}: {}", queueId, line, context, r.text());
                out.add(headerLine(r.text()));
                out.add(f);
            }
            case WARN -> {
                log.info("{}: warning: header {}{}: {}", queueId, line, context, r.text());
                out.add(f);
            }
            case REJECT, DISCARD, HOLD -> {
                return false;
            }
            default -> out.add(f);   // DUNNO, OK
        }
        return true;
    }

    /** A header field from a table's text ({@code Name: value}). */
    static HeaderField headerLine(String text) {
        byte[] raw = (text + "\r\n").getBytes(StandardCharsets.UTF_8);
        return new HeaderField(text.substring(0, Math.max(0, text.indexOf(':'))).strip(), raw);
    }
}
