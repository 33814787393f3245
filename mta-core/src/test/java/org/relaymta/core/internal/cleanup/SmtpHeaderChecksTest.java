package org.relaymta.core.internal.cleanup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.core.internal.delivery.DeliveryRequest;

/** smtp_header_checks: the header section is rewritten on the way out, the body and the spooled copy are not. */
class SmtpHeaderChecksTest {
    private static final String MESSAGE = "Received: from laptop.internal (10.0.0.7) by relay\r\n"
            + "Received: from app.internal by relay\r\n"
            + "From: a@example.test\r\n"
            + "Subject: quarterly\r\n"
            + "X-Internal-Id: 4711\r\n"
            + "\r\n"
            + "Received: in the body stays\r\n"
            + "Subject: also stays\r\n";

    @TempDir
    Path dir;

    private HeaderChecks table(String... rules) throws Exception {
        Files.writeString(dir.resolve("smtp_header_checks.pcre"), String.join("\n", rules) + "\n");
        return HeaderChecks.load("smtp_header_checks", "pcre:/etc/postfix/smtp_header_checks.pcre", "main.cf:1", dir,
                HeaderChecks.DELIVERY_ACTIONS);
    }

    private static String rewritten(String message, HeaderChecks checks) throws Exception {
        DeliveryRequest.Content spooled = () -> new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8));
        DeliveryRequest.Content out = SmtpHeaderChecks.wrap(spooled, checks, "4ABCDEF");
        try (InputStream in = out.open()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void withoutRulesTheContentIsPassedThroughUntouched() throws Exception {
        DeliveryRequest.Content spooled = () -> new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.UTF_8));

        assertThat(SmtpHeaderChecks.wrap(spooled, HeaderChecks.none(), "Q1")).isSameAs(spooled);
    }

    @Test
    void ignoreDropsInternalReceivedLinesButNotTheBody() throws Exception {
        String out = rewritten(MESSAGE, table("/^Received: from .*\\.internal/ IGNORE"));

        assertThat(out).isEqualTo("From: a@example.test\r\n"
                + "Subject: quarterly\r\n"
                + "X-Internal-Id: 4711\r\n"
                + "\r\n"
                + "Received: in the body stays\r\n"
                + "Subject: also stays\r\n");
    }

    @Test
    void replaceAndPrependUseTheMatchGroups() throws Exception {
        String out = rewritten(MESSAGE, table(
                "/^X-Internal-Id: (.*)/ REPLACE X-Ref: $1",
                "/^Subject: (.*)/ PREPEND X-Original-Subject: $1"));

        assertThat(out).contains("X-Ref: 4711\r\n")
                .doesNotContain("X-Internal-Id")
                .contains("X-Original-Subject: quarterly\r\nSubject: quarterly\r\n")
                .endsWith("\r\n\r\nReceived: in the body stays\r\nSubject: also stays\r\n");
    }

    @Test
    void warnKeepsTheLineAndTheFirstMatchingRuleDecides() throws Exception {
        String out = rewritten(MESSAGE, table(
                "/^Subject:/ WARN subject seen",
                "/^Subject:/ IGNORE",
                "/^From:/ DUNNO",
                "/^From:/ IGNORE"));

        assertThat(out).isEqualTo(MESSAGE);
    }

    @Test
    void foldedHeaderFieldsAreMatchedAsOneLogicalLineAndDroppedWhole() throws Exception {
        String folded = "Received: from a.internal\r\n"
                + "\tby relay with ESMTP\r\n"
                + "\tfor <x@example.test>\r\n"
                + "Subject: s\r\n"
                + "\r\n"
                + "body\r\n";

        String out = rewritten(folded, table("/^Received: from a\\.internal\\s+by relay/ IGNORE"));

        assertThat(out).isEqualTo("Subject: s\r\n\r\nbody\r\n");
    }

    @Test
    void aMessageWithoutBodyOrWithoutHeadersIsHandled() throws Exception {
        HeaderChecks checks = table("/^Received:/ IGNORE");

        assertThat(rewritten("Received: x\r\nSubject: only headers\r\n", checks)).isEqualTo("Subject: only headers\r\n");
        assertThat(rewritten("\r\nReceived: body only\r\n", checks)).isEqualTo("\r\nReceived: body only\r\n");
        assertThat(rewritten("", checks)).isEmpty();
    }

    @Test
    void eachOpeningRewritesAgainSoATableChangeAppliesToQueuedMail() throws Exception {
        DeliveryRequest.Content spooled = () -> new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.UTF_8));
        DeliveryRequest.Content out = SmtpHeaderChecks.wrap(spooled, table("/^X-Internal-Id:/ IGNORE"), "Q2");

        for (int i = 0; i < 2; i++) {
            try (InputStream in = out.open()) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).doesNotContain("X-Internal-Id");
            }
        }
    }

    @Test
    void aHeaderSectionOverTheLimitIsCutAtTheLimitAndTheRestPassesAsIs() throws Exception {
        StringBuilder big = new StringBuilder();
        big.append("X-Drop: me\r\n");
        while (big.length() < MessageCleanup.HEADER_LIMIT + 5000) {
            big.append("X-Filler: ").append("f".repeat(60)).append("\r\n");
        }
        big.append("\r\nbody\r\n");

        String out = rewritten(big.toString(), table("/^X-Drop:/ IGNORE"));

        assertThat(out).doesNotContain("X-Drop").endsWith("\r\n\r\nbody\r\n");
        assertThat(out.length()).isEqualTo(big.length() - "X-Drop: me\r\n".length());
    }
}
