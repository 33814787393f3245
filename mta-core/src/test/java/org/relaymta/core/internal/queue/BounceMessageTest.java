package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BounceMessageTest {
    private static final List<BounceMessage.Failed> FAILED = List.of(new BounceMessage.Failed("bob@ext.test", "5.1.1",
            "host mx.ext.test[192.0.2.7] said: 550 5.1.1 unknown user (in reply to RCPT TO command)", "mx.ext.test[192.0.2.7]:25",
            "invalid-recipient"));

    private static String bounce(BounceMessage.Kind kind, String original, long limit) throws Exception {
        byte[] b = original.getBytes(StandardCharsets.UTF_8);
        return new String(BounceMessage.build(kind, "mx.one.test", "1A2B3C4D5E6F7A8B", "alice@one.test",
                Instant.parse("2026-12-01T10:00:00Z"), Instant.parse("2026-12-01T10:05:00Z"), FAILED,
                new ByteArrayInputStream(b), b.length, limit), StandardCharsets.UTF_8);
    }

    @Test
    void aMessageWithinBounceSizeLimitIsReturnedWholeAsMessageRfc822() throws Exception {
        String original = "Subject: report\r\nFrom: alice@one.test\r\n\r\nthe body line\r\n";
        String dsn = bounce(BounceMessage.Kind.FAILED, original, 50000);
        assertThat(dsn).contains("Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n");
        assertThat(dsn).contains("\r\n\r\n" + original + "\r\n--");
        assertThat(dsn).contains("Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1 unknown user");
    }

    @Test
    void aLargerMessageIsReturnedAsItsHeadersOnly() throws Exception {
        String original = "Subject: big\r\nFrom: alice@one.test\r\n\r\n" + "x".repeat(200) + "\r\n";
        String dsn = bounce(BounceMessage.Kind.FAILED, original, 100);
        assertThat(dsn).contains("Content-Type: text/rfc822-headers", "Subject: big\r\n");
        assertThat(dsn).doesNotContain("message/rfc822", "xxxxxxxx");
    }

    @Test
    void aDelayWarningCarriesTheHeadersOnly() throws Exception {
        String dsn = bounce(BounceMessage.Kind.DELAYED, "Subject: s\r\n\r\nbody\r\n", 50000);
        assertThat(dsn).contains("Action: delayed", "Content-Type: text/rfc822-headers");
        assertThat(dsn).doesNotContain("body\r\n");
    }
}
