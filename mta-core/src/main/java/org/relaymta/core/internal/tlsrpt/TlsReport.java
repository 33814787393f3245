package org.relaymta.core.internal.tlsrpt;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * One RFC 8460 aggregate report: the JSON document (section 4.4), gzipped, and the mail that carries
 * it (section 5.3: {@code multipart/report; report-type="tlsrpt"}, the report as
 * {@code application/tlsrpt+gzip}, {@code TLS-Report-Domain} and {@code TLS-Report-Submitter}).
 */
public final class TlsReport {
    private static final DateTimeFormatter RFC3339 = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MAIL_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final String organization;
    private final String contact;
    private final String domain;
    private final Instant start;
    private final Instant end;
    private final String reportId;
    private final ReportCounts counts;

    /** {@code end}: exclusive end of the period (the report says one second before it, as the RFC's example). */
    public TlsReport(String organization, String contact, String domain, Instant start, Instant end, String reportId,
                     ReportCounts counts) {
        this.organization = organization;
        this.contact = contact;
        this.domain = domain;
        this.start = start;
        this.end = end;
        this.reportId = reportId;
        this.counts = counts;
    }

    public String reportId() {
        return reportId;
    }

    public JsonObject json() {
        JsonObject o = new JsonObject();
        o.addProperty("organization-name", organization);
        JsonObject range = new JsonObject();
        range.addProperty("start-datetime", RFC3339.format(start));
        range.addProperty("end-datetime", RFC3339.format(end.minusSeconds(1)));
        o.add("date-range", range);
        o.addProperty("contact-info", contact);
        o.addProperty("report-id", reportId);
        JsonArray policies = new JsonArray();
        for (Map.Entry<ReportCounts.PolicyKey, ReportCounts.PolicyCounts> e : counts.policies().entrySet()) {
            ReportCounts.PolicyKey k = e.getKey();
            JsonObject entry = new JsonObject();
            JsonObject policy = new JsonObject();
            policy.addProperty("policy-type", k.type());
            if (!k.strings().isEmpty()) {
                policy.add("policy-string", strings(k.strings()));
            }
            policy.addProperty("policy-domain", k.domain());
            if (!k.mxHosts().isEmpty()) {
                policy.add("mx-host", strings(k.mxHosts()));
            }
            entry.add("policy", policy);
            JsonObject summary = new JsonObject();
            summary.addProperty("total-successful-session-count", e.getValue().success());
            summary.addProperty("total-failure-session-count", e.getValue().failure());
            entry.add("summary", summary);
            if (!e.getValue().failures().isEmpty()) {
                JsonArray details = new JsonArray();
                for (Map.Entry<ReportCounts.FailureKey, Long> f : e.getValue().failures().entrySet()) {
                    ReportCounts.FailureKey fk = f.getKey();
                    JsonObject d = new JsonObject();
                    d.addProperty("result-type", fk.resultType());
                    if (!fk.sendingIp().isEmpty()) {
                        d.addProperty("sending-mta-ip", fk.sendingIp());
                    }
                    d.addProperty("receiving-mx-hostname", fk.mxHost());
                    if (!fk.receivingIp().isEmpty()) {
                        d.addProperty("receiving-ip", fk.receivingIp());
                    }
                    d.addProperty("failed-session-count", f.getValue());
                    e.getValue().detail(fk).ifPresent(x -> d.addProperty("additional-information", x));
                    details.add(d);
                }
                entry.add("failure-details", details);
            }
            policies.add(entry);
        }
        o.add("policies", policies);
        return o;
    }

    public byte[] gzip() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(json().toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** RFC 8460 section 5.3: {@code submitter!policy-domain!begin!end!id.json.gz}, timestamps in epoch seconds. */
    public String fileName() {
        return safe(organization) + "!" + domain + "!" + start.getEpochSecond() + "!" + end.minusSeconds(1).getEpochSecond()
                + "!" + reportId + ".json.gz";
    }

    /** The report as a mail from {@code sender} to {@code to}, CRLF lines. */
    public byte[] mail(String sender, String to, Instant now) {
        String boundary = "tlsrpt-" + reportId;
        String b64 = Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(gzip());
        String text = "From: " + sender + "\r\n"
                + "To: " + to + "\r\n"
                + "Date: " + MAIL_DATE.format(now) + "\r\n"
                + "Subject: Report Domain: " + domain + " Submitter: " + safe(organization) + " Report-ID: <" + reportId + ">\r\n"
                + "Message-ID: <" + reportId + ">\r\n"
                + "TLS-Report-Domain: " + domain + "\r\n"
                + "TLS-Report-Submitter: " + safe(organization) + "\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"\r\n"
                + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: text/plain; charset=us-ascii\r\n"
                + "\r\n"
                + "This is an aggregate TLS report (RFC 8460) from " + safe(organization) + " for " + domain + ",\r\n"
                + "covering " + RFC3339.format(start) + " to " + RFC3339.format(end.minusSeconds(1)) + ".\r\n"
                + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: application/tlsrpt+gzip\r\n"
                + "Content-Transfer-Encoding: base64\r\n"
                + "Content-Disposition: attachment; filename=\"" + fileName() + "\"\r\n"
                + "\r\n"
                + b64 + "\r\n"
                + "--" + boundary + "--\r\n";
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** Header-safe: no control characters, no quotes (the name goes into a header and a file name). */
    private static String safe(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c < 0x20 || c > 0x7e || c == '"' || c == '!' ? '_' : c);
        }
        return sb.toString();
    }

    private static JsonArray strings(List<String> list) {
        JsonArray a = new JsonArray();
        list.forEach(a::add);
        return a;
    }
}
