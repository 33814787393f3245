package org.relaymta.core.internal.delivery.sasl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.Credentials;

class OAuth2MechanismsTest {

    /** Google's documented XOAUTH2 example (developers.google.com, "OAuth 2.0 Mechanism"), byte for byte. */
    @Test
    void xoauth2MatchesGooglesDocumentedExample() {
        var m = new OAuth2Mechanisms.XOAuth2(Map.of("g", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")::get);
        var exchange = m.start(new Credentials("someuser@example.com", "{oauth2}g", "k"), new SaslTarget("smtp.gmail.com", 587));
        assertThat(exchange.initialResponse()).isEqualTo(
                "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
        assertThat(exchange.respond("eyJzdGF0dXMiOiI0MDEifQ==")).as("the error challenge gets an empty response").isEmpty();
    }

    /** RFC 7628 section 4.1's example, with SMTP's port. */
    @Test
    void oauthbearerFollowsRfc7628() {
        var m = new OAuth2Mechanisms.OAuthBearer(p -> "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        var exchange = m.start(new Credentials("user@example.com", "{oauth2}p", "k"), new SaslTarget("server.example.com", 587));
        assertThat(new String(Base64.getDecoder().decode(exchange.initialResponse()), StandardCharsets.UTF_8)).isEqualTo(
                "n,a=user@example.com,\u0001host=server.example.com\u0001port=587\u0001auth=Bearer "
                        + "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u0001\u0001");
        assertThat(exchange.respond("eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=")).isEqualTo("AQ==");
        assertThat(new String(Base64.getDecoder().decode(m.start(new Credentials("a,b=c@x.test", "{oauth2}p", "k"),
                new SaslTarget("h", 25)).initialResponse()), StandardCharsets.UTF_8)).startsWith("n,a=a=2Cb=3Dc@x.test,");
    }

    @Test
    void onlyForProfileCredentialsAndNeverWithoutAToken() {
        var m = new OAuth2Mechanisms.XOAuth2(p -> null);
        assertThat(m.supports(new Credentials("u", "secret", "k"))).isFalse();
        assertThat(m.supports(new Credentials("u", "{oauth2}m365", "k"))).isTrue();
        assertThat(new Credentials("u", "{oauth2}m365", "k").oauth2Profile()).contains("m365");
        assertThatThrownBy(() -> m.start(new Credentials("u", "{oauth2}m365", "k"), new SaslTarget("h", 25)))
                .hasMessage("no access token for OAuth2 profile m365");
    }
}
