package org.relaymta.core.internal.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.relaymta.testing.TlsReportSchema;

class TlsReportTest {
    private static final List<String> FAILURES = List.of("starttls-not-supported", "certificate-host-mismatch",
            "certificate-expired", "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
            "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid");
    private static final Instant DAY = Instant.parse("2026-12-06T00:00:00Z");

    @TempDir
    Path dir;

    private static ReportPolicy sts() {
        return new ReportPolicy("sts", "example.test", List.of("version: STSv1", "mode: enforce", "mx: *.example.test",
                "max_age: 86400"), List.of("*.example.test"), Optional.empty());
    }

    private static ReportPolicy tlsa() {
        return new ReportPolicy("tlsa", "example.test", List.of("3 1 1 " + "ab".repeat(32)), List.of("mx1.example.test"),
                Optional.empty());
    }

    private static ReportCounts oneOfEachKind() {
        ReportCounts c = new ReportCounts();
        c.add(new TlsSessionResult(sts(), "mx1.example.test", "192.0.2.1", "198.51.100.7", "success", ""));
        c.add(new TlsSessionResult(tlsa(), "mx1.example.test", "192.0.2.1", "198.51.100.7", "success", ""));
        for (String f : FAILURES) {
            ReportPolicy p = f.startsWith("tlsa") || f.startsWith("dnssec") || f.startsWith("dane") ? tlsa() : sts();
            c.add(new TlsSessionResult(p, "mx1.example.test", "192.0.2.1", "198.51.100.7", f, "because " + f));
        }
        return c;
    }

    @Test
    void aDayWithOneSuccessAndOneFailureOfEachKindMatchesTheRfcSchema() throws Exception {
        TlsReport report = new TlsReport("relay.test", "postmaster@relay.test", "example.test", DAY, DAY.plusSeconds(86400),
                "20261206T000000.1@relay.test", oneOfEachKind());
        String json = new String(new GZIPInputStream(new ByteArrayInputStream(report.gzip())).readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(TlsReportSchema.problems(json)).isEmpty();
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        assertThat(o.getAsJsonObject("date-range").get("start-datetime").getAsString()).isEqualTo("2026-12-06T00:00:00Z");
        assertThat(o.getAsJsonObject("date-range").get("end-datetime").getAsString()).isEqualTo("2026-12-06T23:59:59Z");
        JsonArray policies = o.getAsJsonArray("policies");
        assertThat(policies).hasSize(2);
        long success = 0;
        long failure = 0;
        for (var p : policies) {
            JsonObject summary = p.getAsJsonObject().getAsJsonObject("summary");
            success += summary.get("total-successful-session-count").getAsLong();
            failure += summary.get("total-failure-session-count").getAsLong();
        }
        assertThat(success).isEqualTo(2);
        assertThat(failure).isEqualTo(FAILURES.size());
        assertThat(json).contains("\"receiving-ip\":\"198.51.100.7\"", "\"sending-mta-ip\":\"192.0.2.1\"",
                "\"additional-information\":\"because dane-required\"");
    }

    @Test
    void theSchemaCheckCatchesWhatIsWrong() {
        assertThat(TlsReportSchema.problems("{\"organization-name\":\"x\"}")).isNotEmpty();
    }

    @Test
    void theMailCarriesTheRfcHeadersAndTheGzippedReport() {
        TlsReport report = new TlsReport("relay.test", "postmaster@relay.test", "example.test", DAY, DAY.plusSeconds(86400),
                "id1@relay.test", oneOfEachKind());
        String mail = new String(report.mail("postmaster@relay.test", "tlsrpt@example.test", DAY.plusSeconds(90000)),
                StandardCharsets.US_ASCII);
        assertThat(mail).contains("TLS-Report-Domain: example.test\r\n", "TLS-Report-Submitter: relay.test\r\n",
                "Content-Type: multipart/report; report-type=\"tlsrpt\"", "Content-Type: application/tlsrpt+gzip\r\n",
                "filename=\"relay.test!example.test!1796515200!1796601599!id1@relay.test.json.gz\"",
                "Subject: Report Domain: example.test Submitter: relay.test Report-ID: <id1@relay.test>");
        assertThat(mail).doesNotContain("\n\n").doesNotContainPattern("[^\r]\n");
    }

    @Test
    void countsSurviveARestartOfTheLocalStore() {
        LocalReportStore store = new LocalReportStore(dir);
        long period = DAY.getEpochSecond();
        store.add(period, new TlsSessionResult(sts(), "mx1.example.test", "192.0.2.1", "198.51.100.7", "success", ""));
        store.add(period, new TlsSessionResult(sts(), "mx1.example.test", "192.0.2.1", "198.51.100.7", "success", ""));
        store.add(period, new TlsSessionResult(sts(), "mx1.example.test", "192.0.2.1", "198.51.100.7", "certificate-expired",
                "expired"));
        store.close();

        LocalReportStore again = new LocalReportStore(dir);
        assertThat(again.periodsBefore(period + 1)).containsExactly(period);
        ReportCounts c = again.counts(period, "example.test");
        ReportCounts.PolicyCounts p = c.policies().values().iterator().next();
        assertThat(p.success()).isEqualTo(2);
        assertThat(p.failure()).isEqualTo(1);
        again.done(period, "example.test");
        assertThat(new LocalReportStore(dir).periodsBefore(period + 1)).isEmpty();
    }

    @Test
    void ruaIsTakenFromTheOneTlsrptRecord() {
        assertThat(TlsReports.parseRua(List.of("v=TLSRPTv1; rua=mailto:reports@example.test,https://r.example.test/v1")))
                .containsExactly("mailto:reports@example.test", "https://r.example.test/v1");
        assertThat(TlsReports.parseRua(List.of("v=TLSRPTv1;rua=mailto:a@b.test", "v=TLSRPTv1;rua=mailto:c@d.test"))).isEmpty();
        assertThat(TlsReports.parseRua(List.of("v=spf1 -all"))).isEmpty();
        assertThat(TlsReports.parseRua(List.of("v=TLSRPTv1; rua=ftp://x.test/"))).isEmpty();
    }
}
