package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.relaymta.config.ConfigException;

class NextHopTest {

    @ParameterizedTest
    @CsvSource({
            "'[smtp.r.test]:587', smtp.r.test, 587, false",
            "'[smtp.r.test]', smtp.r.test, 25, false",
            "'smtp.r.test:2525', smtp.r.test, 2525, true",
            "'smtp.r.test', smtp.r.test, 25, true",
            "'[1.2.3.4]:587', 1.2.3.4, 587, false",
            "'[::1]:25', ::1, 25, false",
            "'[SMTP.R.Test]:587', smtp.r.test, 587, false",
    })
    void parsesEveryPostfixForm(String text, String host, int port, boolean mx) {
        NextHop hop = NextHop.parse(text, "DEFAULT_RELAY_HOST");
        assertThat(hop.host()).isEqualTo(host);
        assertThat(hop.port()).isEqualTo(port);
        assertThat(hop.mxLookup()).isEqualTo(mx);
        assertThat(hop.asWritten()).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[[smtp.r.test]]:587 | doubled brackets",
            "[smtp.r.test:587 | '[' without ']'",
            "smtp.r.test:99999 | port '99999'",
            "smtp.r.test:abc | port 'abc'",
            "::1 | must be written in brackets",
            "[smtp.r.test]587 | expected ':port'",
    })
    void rejectsMalformedHopsNamingTheInput(String text, String problem) {
        assertThatThrownBy(() -> NextHop.parse(text, "DEFAULT_RELAY_HOST"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("DEFAULT_RELAY_HOST: ")
                .hasMessageContaining(problem);
    }

    @org.junit.jupiter.api.Test
    void listsSeparatedByCommaOrWhitespaceKeepTheirOrder() {
        assertThat(NextHop.parseList("[a.test]:587, b.test  [c.test]", "relayhost"))
                .extracting(NextHop::asWritten)
                .containsExactly("[a.test]:587", "b.test", "[c.test]");
    }

    @org.junit.jupiter.api.Test
    void directDeliveryToAnAddressLiteralGoesToTheLiteral() {
        NextHop v4 = NextHop.direct("[127.0.0.1]", 2525);
        assertThat(v4.host()).isEqualTo("127.0.0.1");
        assertThat(v4.mxLookup()).isFalse();
        assertThat(v4.isIpLiteral()).isTrue();
        assertThat(v4.asWritten()).isEqualTo("[127.0.0.1]");
        NextHop v6 = NextHop.direct("[IPv6:2001:db8::1]", 25);
        assertThat(v6.host()).isEqualTo("2001:db8::1");
        assertThat(v6.mxLookup()).isFalse();
        NextHop domain = NextHop.direct("example.org", 25);
        assertThat(domain.host()).isEqualTo("example.org");
        assertThat(domain.mxLookup()).isTrue();
        assertThat(NextHop.direct("[not.an.ip]", 25).mxLookup()).as("a general literal is no address").isTrue();
    }
}
