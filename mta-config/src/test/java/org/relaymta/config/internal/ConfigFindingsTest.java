package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each configuration that loads but never does what it seems to, found with its file and line. */
class ConfigFindingsTest {
    @TempDir
    Path dir;

    private final Map<String, String> env = new HashMap<>();

    private List<String> warnings() {
        return new ConfigLoader(new Env(env), dir).load().warnings();
    }

    private void file(String name, String... lines) throws IOException {
        Files.write(dir.resolve(name), List.of(lines));
    }

    @Test
    void aCleanSetupHasNoFindings() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[smtp.provider.test]:587");
        file("postfix-sasl-password.cf", "[smtp.provider.test]:587 user:pw");
        file("postfix-transport.cf", "blocked.test smtp:[ses.test]:587");
        assertThat(warnings()).isEmpty();
    }

    @Test
    void theDefaultHostNameIsTheMachinesName() {
        assertThat(ConfigLoader.localHostName()).isNotBlank().doesNotContain(" ").isLowerCase();
    }

    @Test
    void credentialsForNoRelayHostAreNamedWithTheirLine() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[smtp.provider.test]:587");
        file("postfix-sasl-password.cf", "[smtp.provider.test]:587 user:pw", "[smtp.provider.test]:465 user:pw",
                "smtp.provider.test user:pw");
        assertThat(warnings()).singleElement().asString().startsWith("postfix-sasl-password.cf:2: credentials for "
                + "[smtp.provider.test]:465 are never used");
    }

    @Test
    void aTransportStarShadowsTheRelayMapAndTheRelayHost() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[smtp.provider.test]:587");
        file("postfix-relaymap.cf", "@one.test [other.test]:25");
        file("postfix-transport.cf", "* smtp:[everything.test]:25");
        assertThat(warnings()).contains(
                "postfix-relaymap.cf:1: relay map entry @one.test is never used: transport_maps * (postfix-transport.cf:1) "
                        + "routes every recipient first",
                "DEFAULT_RELAY_HOST [smtp.provider.test]:587 is never used: transport_maps * (postfix-transport.cf:1) routes "
                        + "every recipient first");
    }

    @Test
    void theOtherFindings() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[smtp.provider.test]:587");
        env.put("RELAY_HOST", "old.provider.test");
        file("postfix-relaymap.cf", "@boss.test", "@two.test [a.test]:25");
        file("postfix-transport.cf", "two.test smtp:[b.test]:25");
        file("postfix-main.cf", "smtp_tls_security_level = none");
        file("postfix-sasl-password.cf", "[smtp.provider.test]:587 user:pw");
        assertThat(warnings()).anyMatch(w -> w.startsWith("postfix-relaymap.cf:1: @boss.test is excluded while "
                + "DEFAULT_RELAY_HOST is set: docker-mailserver ignores this opt-out"))
                .anyMatch(w -> w.startsWith("postfix-transport.cf:1: two.test is in both tables with different hops: mail from "
                        + "@two.test goes to [a.test]:25 (postfix-relaymap.cf:2), mail to two.test goes to [b.test]:25"))
                .anyMatch(w -> w.startsWith("smtp_tls_security_level = none with relay credentials configured"))
                .anyMatch(w -> w.startsWith("RELAY_HOST and DEFAULT_RELAY_HOST are both set"));
    }

    @Test
    void anOAuth2ProfileNoCredentialNames() throws IOException {
        file("oauth2-clients.cf", "gmail.provider = google", "gmail.client_id = id.apps.googleusercontent.com",
                "gmail.client_secret = g-secret", "gmail.refresh_token_file = gmail.token");
        file("gmail.token", "refresh-token");
        assertThat(warnings()).anyMatch(w -> w.contains("OAuth2 profile gmail is never used"));
    }
}
