package org.relaymta.core.internal.queue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds an RFC 3464 delivery status notification (multipart/report; report-type=delivery-status)
 * with Postfix's wording: a human-readable part, the machine-readable {@code message/delivery-status}
 * part, and the original message: whole as {@code message/rfc822} up to Postfix's
 * {@code bounce_size_limit}, else (and in delay warnings) its headers as {@code text/rfc822-headers}.
 */
final class BounceMessage {
    private static final DateTimeFormatter RFC_5322 = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneId.of("UTC"));
    /** Enough to carry any sane header block, without copying a whole message back. */
    private static final int MAX_HEADER_BYTES = 64 * 1024;

    /** One recipient's line in the report. */
    /** {@code bounceClass}: the relay's word for why ({@code invalid-recipient}, ...), given in the report as X-Bounce-Class. */
    record Failed(String recipient, String dsn, String reason, String relay, String bounceClass) {
    }

    enum Kind { FAILED, DELAYED }

    private BounceMessage() {
    }

    static byte[] build(Kind kind, String reportingHost, String queueId, String sender, Instant arrival, Instant now,
                        List<Failed> recipients, InputStream originalContent, long originalSize, long sizeLimit)
            throws IOException {
        return build(kind, reportingHost, queueId, sender, arrival, now, recipients, originalContent, originalSize, sizeLimit,
                false);
    }

    /**
     * {@code redacted}: for a message sent with REQUIRETLS (RFC 8689 section 5), whose content must not
     * travel where TLS is not assured: no body, and of its header only {@link #REDACTED_KEEPS}.
     */
    static byte[] build(Kind kind, String reportingHost, String queueId, String sender, Instant arrival, Instant now,
                        List<Failed> recipients, InputStream originalContent, long originalSize, long sizeLimit,
                        boolean redacted) throws IOException {
        boolean whole = kind == Kind.FAILED && originalSize <= sizeLimit && !redacted;
        String boundary = queueId + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + "/" + reportingHost;
        StringBuilder sb = new StringBuilder(2048);
        header(sb, "From", "MAILER-DAEMON@" + reportingHost + " (Mail Delivery System)");
        header(sb, "To", sender);
        header(sb, "Subject", kind == Kind.FAILED ? "Undelivered Mail Returned to Sender"
                : "Delayed Mail (still being retried)");
        header(sb, "Date", RFC_5322.format(now));
        header(sb, "Message-ID", "<" + queueId + "." + now.toEpochMilli() + "@" + reportingHost + ">");
        header(sb, "Auto-Submitted", "auto-replied");
        header(sb, "MIME-Version", "1.0");
        header(sb, "Content-Type", "multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"");
        sb.append("\r\n");
        sb.append("This is a MIME-encapsulated message.\r\n\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Description", "Notification");
        header(sb, "Content-Type", "text/plain; charset=utf-8");
        sb.append("\r\n");
        sb.append("This is the mail system at host ").append(reportingHost).append(".\r\n\r\n");
        if (kind == Kind.FAILED) {
            sb.append("I'm sorry to have to inform you that your message could not\r\n")
                    .append("be delivered to one or more recipients. It's attached below.\r\n\r\n");
        } else {
            sb.append("####################################################################\r\n")
                    .append("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n")
                    .append("####################################################################\r\n\r\n")
                    .append("Your message could not be delivered for some time.\r\n")
                    .append("It will be retried until it is too old.\r\n\r\n");
        }
        for (Failed f : recipients) {
            sb.append("<").append(f.recipient()).append(">: ").append(oneLine(f.reason())).append("\r\n");
        }
        sb.append("\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Description", kind == Kind.FAILED ? "Delivery report" : "Delivery delay report");
        header(sb, "Content-Type", "message/delivery-status");
        sb.append("\r\n");
        header(sb, "Reporting-MTA", "dns; " + reportingHost);
        header(sb, "X-Postfix-Queue-ID", queueId);
        header(sb, "X-Postfix-Sender", "rfc822; " + sender);
        header(sb, "Arrival-Date", RFC_5322.format(arrival));
        for (Failed f : recipients) {
            sb.append("\r\n");
            header(sb, "Final-Recipient", "rfc822; " + f.recipient());
            header(sb, "Original-Recipient", "rfc822;" + f.recipient());
            header(sb, "Action", kind == Kind.FAILED ? "failed" : "delayed");
            header(sb, "Status", f.dsn());
            String remoteHost = remoteHost(f.relay());
            if (remoteHost != null) {
                header(sb, "Remote-MTA", "dns; " + remoteHost);
            }
            String reply = remoteReply(f.reason());
            header(sb, "Diagnostic-Code", reply != null ? "smtp; " + reply : "X-Postfix; " + oneLine(f.reason()));
            if (!f.bounceClass().isEmpty()) {
                header(sb, "X-Bounce-Class", f.bounceClass());
            }
        }
        sb.append("\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Description", whole ? "Undelivered Message" : "Undelivered Message Headers");
        header(sb, "Content-Type", whole ? "message/rfc822" : "text/rfc822-headers");
        if (whole) {
            header(sb, "Content-Transfer-Encoding", "8bit");
        }
        sb.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        if (whole) {
            byte[] original = originalContent.readNBytes((int) originalSize);
            out.write(original);
            if (original.length < 2 || original[original.length - 2] != '\r' || original[original.length - 1] != '\n') {
                out.write(new byte[] {'\r', '\n'});
            }
        } else if (redacted) {
            out.write(redact(originalHeaders(originalContent)));
        } else {
            out.write(originalHeaders(originalContent));
        }
        out.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    /** The fields a redacted notification keeps: enough to tell which message it was, nothing of what it said. */
    static final List<String> REDACTED_KEEPS = List.of("message-id", "date", "from", "to");

    private static byte[] redact(byte[] headers) {
        StringBuilder out = new StringBuilder();
        boolean keep = false;
        for (String line : new String(headers, StandardCharsets.ISO_8859_1).split("\r\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) != ' ' && line.charAt(0) != '\t') {
                int colon = line.indexOf(':');
                keep = colon > 0 && REDACTED_KEEPS.contains(line.substring(0, colon).strip().toLowerCase(Locale.ROOT));
            }
            if (keep) {
                out.append(line).append("\r\n");
            }
        }
        out.append("X-Relay-Redacted: the other header fields and the body are not returned (REQUIRETLS)\r\n");
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static void header(StringBuilder sb, String name, String value) {
        sb.append(name).append(": ").append(value).append("\r\n");
    }

    private static String oneLine(String s) {
        return s.replace("\r", " ").replace("\n", " ");
    }

    /** {@code host[ip]:port} -> {@code host}; null for {@code none}. */
    static String remoteHost(String relay) {
        if (relay == null || relay.isEmpty() || relay.equals("none")) {
            return null;
        }
        int bracket = relay.indexOf('[');
        return bracket > 0 ? relay.substring(0, bracket) : relay;
    }

    /** The remote server's reply inside a Postfix-style reason ("host h[ip] said: 550 ... (in reply to ...)"). */
    static String remoteReply(String reason) {
        int said = reason.indexOf(" said: ");
        if (said < 0) {
            return null;
        }
        String reply = reason.substring(said + 7);
        int inReply = reply.lastIndexOf(" (in reply to ");
        return oneLine(inReply > 0 ? reply.substring(0, inReply) : reply);
    }

    /** The header block of the original content, up to the first empty line, bounded in size. */
    private static byte[] originalHeaders(InputStream content) throws IOException {
        ByteArrayOutputStream headers = new ByteArrayOutputStream();
        int prev1 = -1;
        int prev2 = -1;
        int prev3 = -1;
        int c;
        while ((c = content.read()) != -1 && headers.size() < MAX_HEADER_BYTES) {
            headers.write(c);
            if (prev3 == '\r' && prev2 == '\n' && prev1 == '\r' && c == '\n') {
                break;
            }
            prev3 = prev2;
            prev2 = prev1;
            prev1 = c;
        }
        byte[] b = headers.toByteArray();
        String s = new String(b, StandardCharsets.ISO_8859_1);
        if (!s.endsWith("\r\n")) {
            return (s + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        }
        return b;
    }

}
