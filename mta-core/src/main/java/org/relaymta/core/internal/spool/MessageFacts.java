package org.relaymta.core.internal.spool;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What delivery events say about a message beyond its envelope: its {@code Message-ID} and the
 * domain of the relay's DKIM signature. Known at intake; after a restart read again from the
 * stored header section (the spool does not repeat them).
 *
 * @param messageId  the Message-ID field as written ({@code <id@host>}), or empty
 * @param dkimDomain the {@code d=} of the first DKIM-Signature field, or empty
 */
public record MessageFacts(String messageId, String dkimDomain) {
    public static final MessageFacts NONE = new MessageFacts("", "");
    private static final Pattern D_TAG = Pattern.compile("(?:^|;)\\s*d\\s*=\\s*([^;\\s]+)");

    /** The facts of a header section (CRLF or LF line ends, folded lines allowed). */
    public static MessageFacts of(String headerSection) {
        String messageId = "";
        String dkim = "";
        for (String field : headerSection.replaceAll("\r?\n[ \t]+", " ").split("\r?\n")) {
            int colon = field.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = field.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = field.substring(colon + 1).strip();
            if (name.equals("message-id") && messageId.isEmpty()) {
                messageId = value;
            } else if (name.equals("dkim-signature") && dkim.isEmpty()) {
                Matcher m = D_TAG.matcher(value);
                if (m.find()) {
                    dkim = m.group(1).toLowerCase(Locale.ROOT);
                }
            }
        }
        return new MessageFacts(messageId, dkim);
    }
}
