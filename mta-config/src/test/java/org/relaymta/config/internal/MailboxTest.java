package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MailboxTest {

    @ParameterizedTest
    @ValueSource(strings = {"a@d.test", "first.last+tag@sub.example.com", "a..b@x.test", "o'brien@x.test",
            "\"a b\"@x.test", "\"a\\\"b\"@x.test", "\"at@inside\"@x.test", "r@[127.0.0.1]", "r@[IPv6:2001:db8::1]",
            "r@[IPv6:::ffff:192.0.2.1]", "jürgen@bücher.example", "SRS0=HHH=TT=orig.example=someone.with.a.long.name@relay.test",
            "user@xn--bcher-kva.example", "u@_dmarc.example"})
    void acceptsMailboxesRealMailUses(String address) {
        assertThat(Mailbox.problem(address)).as(address).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "plain", "@d.test", "a@", "a@d.test>\r\nRCPT TO:<victim@ext.test", "a@d.test\n",
            "a b@d.test", "a<b@d.test", "a>b@d.test", "a@d.test> NOTIFY=NEVER", "a,b@d.test", "a@d..test", "a@-d.test",
            "a@d.test.", "a@[1.2.3]", "a@[300.1.1.1]", "a@[IPv6:1:2:3]", "a@[IPv6:1::2::3]", "\"unterminated@d.test",
            "a@d\u0000.test", "a@d\u202e.test", "a@1.2.3.4", "a\u0085b@d.test"})
    void refusesWhatIsNotAMailbox(String address) {
        assertThat(Mailbox.problem(address)).as(address).isPresent();
    }

    @Test
    void saysWhatIsWrongWithoutRepeatingControlCharacters() {
        assertThat(Mailbox.problem("a@d.test>\r\nRCPT TO:<v@e.test>")).hasValue("control character \\r at position 10");
        assertThat(Mailbox.problem("a b@d.test")).hasValueSatisfying(p -> assertThat(p).contains("' ' in the local part"));
        assertThat(Mailbox.problem("a@[999.0.0.1]")).hasValueSatisfying(p -> assertThat(p).contains("bad address literal"));
    }

    @Test
    void hostNamesAsPostfixValidatesThem() {
        assertThat(Hostnames.valid("mx1.example.com")).isTrue();
        assertThat(Hostnames.valid("mx_1.example.com")).isTrue();
        assertThat(Hostnames.valid("a".repeat(63) + ".test")).isTrue();
        assertThat(Hostnames.problem("a".repeat(64) + ".test")).hasValueSatisfying(p -> assertThat(p).contains("label longer"));
        assertThat(Hostnames.problem(("a".repeat(60) + ".").repeat(5) + "test")).hasValueSatisfying(p -> assertThat(p).contains("longer than 255"));
        assertThat(Hostnames.problem("x\"} fake_metric 1\r.bank.test")).hasValueSatisfying(p -> assertThat(p)
                .startsWith("'\\\"' in 'x\\\"} fake_metric 1\\r.bank.test'"));
        assertThat(Hostnames.problem("192.0.2.1")).hasValueSatisfying(p -> assertThat(p).startsWith("numeric name"));
        assertThat(Hostnames.valid("a..b")).isFalse();
        assertThat(Hostnames.valid("-a.b")).isFalse();
        assertThat(Hostnames.valid("")).isFalse();
    }

    @Test
    void logTextEscapesEverythingThatCouldForgeALine() {
        assertThat(LogText.escape("plain text, even ünïcode")).isEqualTo("plain text, even ünïcode");
        assertThat(LogText.escape("x\"} fake 1\r\n2026 [INFO] forged")).isEqualTo("x\\\"} fake 1\\r\\n2026 [INFO] forged");
        assertThat(LogText.escape("tab\tbell\u0007esc\u001bdel\u007f")).isEqualTo("tab\\tbell\\x07esc\\x1bdel\\x7f");
        assertThat(LogText.escape("rtl\u202eevil\u2028next\u0085")).isEqualTo("rtl\\u202eevil\\u2028next\\x85");
        assertThat(LogText.escape("back\\slash")).isEqualTo("back\\\\slash");
        assertThat(LogText.escape("lone \ud800 surrogate, pair \ud83d\ude00 ok")).isEqualTo("lone \\ud800 surrogate, pair \ud83d\ude00 ok");
    }
}
