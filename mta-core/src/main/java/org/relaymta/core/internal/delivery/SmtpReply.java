package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One (possibly multi-line) SMTP reply.
 *
 * @param code  the three-digit reply code
 * @param lines the text of each line, without the code and separator
 */
public record SmtpReply(int code, List<String> lines) {
    private static final Pattern ENHANCED = Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})(?=\\s|$)");

    public SmtpReply {
        lines = List.copyOf(lines);
    }

    public boolean positive() {
        return code >= 200 && code < 400;
    }

    public boolean transientFailure() {
        return code >= 400 && code < 500;
    }

    public boolean permanentFailure() {
        return code >= 500;
    }

    /**
     * The enhanced status code (RFC 3463) of the first line when it agrees with the reply class,
     * else the generic one: 2.0.0, 4.0.0 or 5.0.0.
     */
    public String enhancedStatus() {
        if (!lines.isEmpty()) {
            Matcher m = ENHANCED.matcher(lines.get(0));
            if (m.find() && m.group(1).charAt(0) - '0' == code / 100) {
                return m.group(0);
            }
        }
        return (code / 100) + ".0.0";
    }

    /** The reply as one line, the way Postfix quotes it in logs: {@code 250 2.0.0 Ok}. */
    public String oneLine() {
        return code + " " + String.join(" ", lines);
    }

    @Override
    public String toString() {
        return oneLine();
    }
}
