package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OAuth2ProfilesTest {
    @TempDir
    Path dir;

    private Map<String, OAuth2Profile> load(String... lines) throws IOException {
        Files.write(dir.resolve(OAuth2Profiles.FILE), List.of(lines));
        return OAuth2Profiles.load(dir);
    }

    @Test
    void providersGiveEndpointsGrantsAndScopes() throws IOException {
        Files.writeString(dir.resolve("m365.secret"), "s3cr3t-from-file\n");
        Files.writeString(dir.resolve("sa.json"), "{}");
        Map<String, OAuth2Profile> p = load(
                "# Microsoft 365, client credentials (app-only SMTP AUTH)",
                "m365.provider = microsoft",
                "m365.tenant = contoso.onmicrosoft.com",
                "m365.client_id = 11111111-2222-3333-4444-555555555555",
                "m365.client_secret_file = m365.secret",
                "",
                "delegated.provider = microsoft",
                "delegated.tenant = common",
                "delegated.client_id = abc",
                "delegated.refresh_token_file = delegated.token",
                "gmail.provider = google",
                "gmail.client_id = id.apps.googleusercontent.com",
                "gmail.client_secret = g-secret",
                "gmail.refresh_token_file = gmail.token",
                "robot.provider = google-service-account",
                "robot.service_account_file = sa.json",
                "robot.subject = relay@example.com",
                "test.provider = generic",
                "test.client_id = c",
                "test.client_secret = s",
                "test.token_url = http://127.0.0.1:8080/token");
        assertThat(p).containsOnlyKeys("m365", "delegated", "gmail", "robot", "test");
        OAuth2Profile m365 = p.get("m365");
        assertThat(m365.grant()).isEqualTo(OAuth2Profile.Grant.CLIENT_CREDENTIALS);
        assertThat(m365.tokenUrl()).hasToString("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        assertThat(m365.scope()).isEqualTo("https://outlook.office365.com/.default");
        assertThat(m365.clientSecret()).contains("s3cr3t-from-file");
        assertThat(m365.toString()).doesNotContain("s3cr3t").contains("clientSecret=****");
        assertThat(m365.location()).isEqualTo("oauth2-clients.cf:2");
        assertThat(p.get("delegated").grant()).isEqualTo(OAuth2Profile.Grant.REFRESH_TOKEN);
        assertThat(p.get("delegated").scope()).isEqualTo("https://outlook.office.com/SMTP.Send offline_access");
        assertThat(p.get("delegated").refreshTokenFile()).contains(dir.resolve("delegated.token"));
        assertThat(p.get("gmail").tokenUrl()).hasToString("https://oauth2.googleapis.com/token");
        assertThat(p.get("gmail").scope()).isEqualTo("https://mail.google.com/");
        assertThat(p.get("robot").grant()).isEqualTo(OAuth2Profile.Grant.JWT_BEARER);
        assertThat(p.get("robot").subject()).contains("relay@example.com");
        assertThat(p.get("test").tokenUrl()).hasToString("http://127.0.0.1:8080/token");
        assertThat(OAuth2Profiles.missing(p, List.of("m365", "nope", "nope"))).containsExactly("nope");
        assertThat(OAuth2Profiles.load(dir.resolve("absent"))).isEmpty();
    }

    @Test
    void credentialsNamingAProfileLoadOnlyWhenItExists() throws IOException {
        Map<String, String> env = Map.of("DEFAULT_RELAY_HOST", "[smtp.office365.com]:587", "RELAY_USER", "relay@contoso.com",
                "RELAY_PASSWORD", "{oauth2}m365");
        assertThatThrownBy(() -> new ConfigLoader(new Env(env), dir).load())
                .hasMessageContaining("{oauth2}m365 names an OAuth2 profile that oauth2-clients.cf does not define");
        Files.write(dir.resolve(OAuth2Profiles.FILE), List.of("m365.provider = microsoft", "m365.tenant = contoso.com",
                "m365.client_id = app", "m365.client_secret = hunter2"));
        RelayConfig cfg = new ConfigLoader(new Env(env), dir).load();
        assertThat(cfg.routing().oauth2Profiles()).containsOnlyKeys("m365");
        assertThat(cfg.sources()).contains(dir.resolve(OAuth2Profiles.FILE));
        assertThat(cfg.toString()).doesNotContain("hunter2");
        RouteReport report = RouteReport.explain(cfg, "a@one.test", "b@ext.test");
        assertThat(report.toText()).contains("relay@contoso.com (key [smtp.office365.com]:587, OAuth2 profile m365)");
        assertThat(report.toJson()).contains("\"auth\": \"OAuth2 profile m365\"").doesNotContain("hunter2");
    }

    @Test
    void mistakesNameFileLineAndNeverTheSecret() {
        assertThatThrownBy(() -> load("m365.provider = microsoft", "m365.client_id = a", "m365.client_secret = hunter2"))
                .hasMessageContaining("oauth2-clients.cf:1").hasMessageContaining("m365.tenant")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> load("x.provider = yahoo")).hasMessageContaining("oauth2-clients.cf:1")
                .hasMessageContaining("unknown provider 'yahoo'");
        assertThatThrownBy(() -> load("x.provider = generic", "x.token_url = http://t", "x.clientsecret = hunter2"))
                .hasMessageContaining("oauth2-clients.cf:3").hasMessageContaining("unknown key 'clientsecret'")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> load("x.provider = generic", "x.token_url = http://t", "x.client_id = a",
                "x.client_secret hunter2")).hasMessageContaining("oauth2-clients.cf:4").hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> load("x.provider = generic", "x.token_url = http://t", "x.client_id = a",
                "x.client_secret = hunter2", "x.client_secret = hunter3")).hasMessageContaining("oauth2-clients.cf:5")
                .hasMessageContaining("set twice").hasMessageNotContaining("hunter");
        assertThatThrownBy(() -> load("x.provider = google", "x.client_id = a", "x.client_secret = hunter2"))
                .hasMessageContaining("needs x.refresh_token_file");
        assertThatThrownBy(() -> load("x.provider = google-service-account", "x.service_account_file = missing.json"))
                .hasMessageContaining("oauth2-clients.cf:2").hasMessageContaining("not readable");
        assertThatThrownBy(() -> load("x.provider = generic", "x.token_url = ftp://t", "x.client_id = a",
                "x.client_secret = s")).hasMessageContaining("oauth2-clients.cf:2");
        assertThatThrownBy(() -> load("x.provider = microsoft", "x.tenant = t", "x.client_id = a",
                "x.client_secret_file = nowhere")).hasMessageContaining("oauth2-clients.cf:4")
                .hasMessageContaining("cannot read client secret file");
    }
}
