package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.Route;
import org.relaymta.config.internal.Router;

/**
 * The provider examples of examples/providers, loaded as 'mta run' loads a config directory with the
 * variables of its relay.env: where mail goes, as whom, with which TLS level and quota, and nothing
 * for 'mta config check' to say. A user who copies one starts from a configuration that works.
 */
class ProviderExamplesIT {
    private static final Path EXAMPLES = Path.of("..", "examples", "providers");

    private static RelayConfig load(String provider) throws Exception {
        Path dir = EXAMPLES.resolve(provider).toAbsolutePath().normalize();
        Map<String, String> env = new HashMap<>();
        for (String line : Files.readAllLines(dir.resolve("relay.env"))) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String name = line.substring(0, eq);
            String value = line.substring(eq + 1);
            // A __FILE name is relative to where mta runs: here, the example's directory.
            env.put(name, name.endsWith("__FILE") ? dir.resolve(value).toString() : value);
        }
        return new ConfigLoader(new Env(env), dir).load();
    }

    @ParameterizedTest
    @CsvSource({
            "ses,      [email-smtp.eu-west-1.amazonaws.com]:587, AKIAEXAMPLE,               password",
            "m365,     [smtp.office365.com]:587,                 relay@example.com,         m365",
            "google,   [smtp.gmail.com]:587,                     relay@example.com,         workspace",
            "mailgun,  [smtp.mailgun.org]:587,                   postmaster@mg.example.com, password",
            "sendgrid, [smtp.sendgrid.net]:587,                  apikey,                    password"})
    void eachProviderExampleLoadsAndRoutesAsDocumented(String provider, String hop, String user, String auth) throws Exception {
        RelayConfig cfg = load(provider);
        assertThat(cfg.warnings()).as("mta config check has nothing to say").isEmpty();
        Route route = Router.route(cfg, "app@example.com", "customer@example.org");
        assertThat(route.nextHops()).extracting(NextHop::asWritten).containsExactly(hop);
        assertThat(route.tlsLevel()).isEqualTo(TlsLevel.ENCRYPT);
        NextHop first = route.nextHops().get(0);
        Credentials c = route.credentialsFor(first.host(), first).orElseThrow();
        assertThat(c.username()).isEqualTo(user);
        assertThat(c.oauth2Profile().orElse("password")).isEqualTo(auth);
        List<RelayLimits.Limit> limits = cfg.delivery().limits().applicable(List.of(hop), user);
        assertThat(limits).as("the provider's quota preset applies").isNotEmpty();
    }
}
