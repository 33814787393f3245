package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteReportTest {
    @TempDir
    Path dir;

    private final Map<String, String> env = new HashMap<>();

    private String json(String sender, String recipient) {
        return RouteReport.explain(new ConfigLoader(new Env(env), dir).load(), sender, recipient).toJson();
    }

    @Test
    void publicCase1() {
        env.put("DEFAULT_RELAY_HOST", "[smtp.r.test]:587");
        assertThat(json("<>", "bob@ext.test")).isEqualTo("{\"sender\": \"<>\", \"recipient\": \"bob@ext.test\", "
                + "\"source\": \"default_relay\", \"map_key\": null, \"nexthops\": [\"[smtp.r.test]:587\"], "
                + "\"mx_lookup\": false, \"credentials\": null, \"tls_level\": \"may\", \"wrapper_mode\": false, "
                + "\"steps\": [\"transport_maps: no entries\", \"sender relay map: no entry for <>\", "
                + "\"default relay host: [smtp.r.test]:587\"]}");
    }

    @Test
    void publicCase2DirectForForeignSenders() throws IOException {
        env.put("RELAY_HOST", "r.test");
        env.put("LOCAL_SENDER_DOMAINS", "one.test, two.test");
        assertThat(json("a@two.test", "bob@ext.test")).contains("\"source\": \"sender_map\", \"map_key\": \"@two.test\", "
                + "\"nexthops\": [\"[r.test]:25\"], \"mx_lookup\": false, \"credentials\": null, \"tls_level\": \"may\"");
        assertThat(json("x@other.test", "bob@ext.test")).contains("\"source\": \"direct\", \"map_key\": null, "
                + "\"nexthops\": [], \"mx_lookup\": true, \"credentials\": null");
    }

    @Test
    void publicCase4() throws IOException {
        Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [smtp.a.test]:2525", "boss@one.test [smtp.b.test]:587"));
        Files.write(dir.resolve("postfix-sasl-password.cf"), List.of("@one.test ua:pa", "boss@one.test ub:pb",
                "[smtp.a.test]:2525 uh:ph"));
        assertThat(json("BOSS+x@One.Test", "bob@ext.test")).isEqualTo("{\"sender\": \"BOSS+x@One.Test\", "
                + "\"recipient\": \"bob@ext.test\", \"source\": \"sender_map\", \"map_key\": \"boss@one.test\", "
                + "\"nexthops\": [\"[smtp.b.test]:587\"], \"mx_lookup\": false, "
                + "\"credentials\": {\"username\": \"ub\", \"key\": \"boss@one.test\", \"auth\": \"password\"}, \"tls_level\": \"encrypt\", "
                + "\"wrapper_mode\": false, \"steps\": [\"transport_maps: no entries\", "
                + "\"sender relay map: boss@one.test (postfix-relaymap.cf:2) -> [smtp.b.test]:587\"]}");
        assertThat(json("x@other.test", null)).contains("\"recipient\": null", "\"source\": \"direct\"",
                "\"credentials\": null", "\"tls_level\": \"encrypt\"").doesNotContain("pa").doesNotContain("pb");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[smtp.r.test]:465 | true",
            "[smtp.r.test]:587 | false",
    })
    void port465MeansWrapperMode(String relay, boolean wrapper) {
        env.put("DEFAULT_RELAY_HOST", relay);
        assertThat(json("a@one.test", "b@ext.test")).contains("\"wrapper_mode\": " + wrapper);
    }

    @Test
    void bothRelayVariablesSeveralHopsAndIpv6() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[2001:db8::1]:587, relay2.test");
        env.put("RELAY_HOST", "[legacy.test]");
        env.put("LOCAL_SENDER_DOMAINS", "one.test");
        env.put("RELAY_USER", "u");
        env.put("RELAY_PASSWORD", "p");
        RelayConfig cfg = new ConfigLoader(new Env(env), dir).load();
        assertThat(cfg.warnings()).anyMatch(w -> w.startsWith("RELAY_HOST: brackets are added automatically"));
        RouteReport local = RouteReport.explain(cfg, "a@one.test", "b@ext.test");
        assertThat(local.toJson()).contains("\"nexthops\": [\"[legacy.test]:25\"]");
        // Credentials are keyed to DEFAULT_RELAY_HOST as written, so the legacy host gets none.
        assertThat(local.credentials()).isEmpty();
        RouteReport other = RouteReport.explain(cfg, "x@other.test", "b@ext.test");
        assertThat(other.toJson()).contains("\"nexthops\": [\"[2001:db8::1]:587\", \"relay2.test\"]",
                "\"credentials\": {\"username\": \"u\", \"key\": \"[2001:db8::1]:587\", \"auth\": \"password\"}");
        assertThat(other.route().nextHops().get(0).host()).isEqualTo("2001:db8::1");
        assertThat(other.route().nextHops().get(1).mxLookup()).isTrue();
    }

    @Test
    void senderThatIsNotAnAddressIsAClearError() {
        assertThatThrownBy(() -> json("not-an-address", null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sender 'not-an-address' is not an email address");
    }
}
