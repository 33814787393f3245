package org.relaymta.core.internal.cleanup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.DkimTable;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.core.internal.spool.HeaderField;

/** The cleanup step's parts on their own: relaxed canonicalization, the header split, the held-back header section. */
class CleanupTest {

    private static String bodyHash(String body, int split) {
        RelaxedBodyHash h = new RelaxedBodyHash();
        byte[] b = body.getBytes(StandardCharsets.US_ASCII);
        h.update(b, 0, split);
        h.update(b, split, b.length - split);
        return Base64.getEncoder().encodeToString(h.digest());
    }

    private static String sha256(String s) throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void relaxedBodyCanonicalizationAsRfc6376SaysWhereverTheInputIsSplit() throws Exception {
        String[][] cases = {
                {"", ""},
                {"\r\n\r\n", ""},
                {"a \r\n\r\n\r\n", "a\r\n"},
                {" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"},          // RFC 6376 section 3.4.6 example
                {"no final line end", "no final line end\r\n"},
                {"x\r\n \t \r\ny\r\n", "x\r\n\r\ny\r\n"},                 // a line of spaces is empty, kept when inside
        };
        for (String[] c : cases) {
            for (int split = 0; split <= c[0].length(); split++) {
                assertThat(bodyHash(c[0], split)).as("'%s' split at %d", c[0], split).isEqualTo(sha256(c[1]));
            }
        }
    }

    @Test
    void relaxedHeaderCanonicalization() {
        List<HeaderField> fields = HeaderField.parse(
                "Subject :  Hello   World \r\n\tagain \r\nFrom: a@b.test\r\n".getBytes(StandardCharsets.US_ASCII), 43);
        assertThat(fields).extracting(HeaderField::name).containsExactly("Subject", "From");
        assertThat(fields.get(0).relaxed()).isEqualTo("subject:Hello World again\r\n");
        assertThat(fields.get(0).logicalLine()).isEqualTo("Subject :  Hello   World \tagain");
    }

    private static String cleaned(String message, int split) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        MessageCleanup cleanup = new MessageCleanup(body, DkimTable.empty(), HeaderChecks.none(), "s@x.test", Clock.systemUTC(), (d, a) -> { }, "ID");
        byte[] b = message.getBytes(StandardCharsets.US_ASCII);
        cleanup.write(b, 0, split);
        cleanup.write(b, split, b.length - split);
        return new String(cleanup.finish(), StandardCharsets.US_ASCII) + "|" + body.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void theHeaderSectionIsHeldBackAndTheBodyStreamsThroughWhereverTheInputIsSplit() throws Exception {
        String message = "From: a@b.test\r\nSubject: hi\r\n\r\nbody line\r\n\r\nmore\r\n";
        for (int split = 0; split <= message.length(); split++) {
            assertThat(cleaned(message, split)).as("split at %d", split)
                    .isEqualTo("From: a@b.test\r\nSubject: hi\r\n\r\n|body line\r\n\r\nmore\r\n");
        }
        assertThat(cleaned("\r\nonly a body\r\n", 3)).isEqualTo("\r\n|only a body\r\n");
        assertThat(cleaned("Subject: headers only\r\n", 5)).isEqualTo("Subject: headers only\r\n|");
    }

    @Test
    void theFromAddressIsTakenFromTheFromField() {
        assertThat(MessageCleanup.fromAddress(HeaderField.parse("From: \"Shop, Inc\" <Orders@Shop.TEST>\r\n"
                .getBytes(StandardCharsets.US_ASCII), 38))).isEqualTo("orders@shop.test");
        assertThat(MessageCleanup.fromAddress(HeaderField.parse("From: plain@x.test\r\n".getBytes(StandardCharsets.US_ASCII), 20)))
                .isEqualTo("plain@x.test");
        assertThat(MessageCleanup.fromAddress(List.of())).isNull();
    }
}
