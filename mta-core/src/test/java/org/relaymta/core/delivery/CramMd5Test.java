package org.relaymta.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.Credentials;

class CramMd5Test {

    @Test
    void rfc2195Example() {
        String challenge = Base64.getEncoder().encodeToString(
                "<1896.697170952@postoffice.reston.mci.net>".getBytes(StandardCharsets.US_ASCII));
        String response = SmtpDeliveryAgent.cramMd5Response(new Credentials("tim", "tanstaaftanstaaf", "k"),
                new SmtpReply(334, List.of(challenge)));
        assertThat(new String(Base64.getDecoder().decode(response), StandardCharsets.US_ASCII))
                .isEqualTo("tim b913a602c7eda7a495b4e6e7334d3890");
    }

    @Test
    void aMalformedChallengeCancelsTheExchange() {
        assertThat(SmtpDeliveryAgent.cramMd5Response(new Credentials("u", "p", "k"), new SmtpReply(334, List.of("%%%"))))
                .isEqualTo("*");
    }
}
