package org.relaymta.core.internal.delivery.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.Credentials;

class SaslMechanismsTest {
    private static final Credentials TIM = new Credentials("tim", "tanstaaftanstaaf", "k");
    private static final SaslTarget TARGET = new SaslTarget("smtp.example.com", 587);

    private static String decode(String b64) {
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    private static String encode(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainIsPreferredThenLoginThenCramMd5AndTheFilterNarrowsTheChoice() {
        assertThat(SaslMechanisms.choose(List.of("CRAM-MD5", "LOGIN", "PLAIN"), List.of(), TIM)).get()
                .extracting(SaslMechanism::name).isEqualTo("PLAIN");
        assertThat(SaslMechanisms.choose(List.of("CRAM-MD5", "LOGIN"), List.of(), TIM)).get()
                .extracting(SaslMechanism::name).isEqualTo("LOGIN");
        assertThat(SaslMechanisms.choose(List.of("PLAIN", "LOGIN", "CRAM-MD5"), List.of("CRAM-MD5"), TIM)).get()
                .extracting(SaslMechanism::name).isEqualTo("CRAM-MD5");
        assertThat(SaslMechanisms.choose(List.of("ANONYMOUS", "GSSAPI"), List.of(), TIM)).isEmpty();
        assertThat(SaslMechanisms.choose(List.of("PLAIN"), List.of(), new Credentials("u", "{oauth2}m365", "k")))
                .as("a token reference is no password").isEmpty();
    }

    @Test
    void plainSendsAuthorizationIdentityUserAndPasswordInTheInitialResponse() {
        SaslMechanism.Exchange e = SaslMechanisms.named("plain").orElseThrow().start(TIM, TARGET);
        assertThat(decode(e.initialResponse())).isEqualTo("\0tim\0tanstaaftanstaaf");
    }

    @Test
    void loginAnswersTheUserNamePromptThenThePasswordPrompt() {
        SaslMechanism.Exchange e = SaslMechanisms.named("LOGIN").orElseThrow().start(TIM, TARGET);
        assertThat(e.initialResponse()).isNull();
        assertThat(decode(e.respond(encode("Username:")))).isEqualTo("tim");
        assertThat(decode(e.respond(encode("Password:")))).isEqualTo("tanstaaftanstaaf");
    }

    @Test
    void cramMd5AnswersTheRfc2195Example() {
        SaslMechanism.Exchange e = SaslMechanisms.named("CRAM-MD5").orElseThrow().start(TIM, TARGET);
        assertThat(e.initialResponse()).isNull();
        assertThat(decode(e.respond(encode("<1896.697170952@postoffice.reston.mci.net>"))))
                .isEqualTo("tim b913a602c7eda7a495b4e6e7334d3890");
        assertThat(e.respond("%%%")).as("a malformed challenge cancels the exchange").isEqualTo("*");
    }
}
