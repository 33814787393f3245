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
import org.relaymta.config.TlsLevel;

/** Routing as docker-mailserver users meet it: sender-dependent relays, credentials per host, opt-outs, failover. */
class RouterTest {
    @TempDir
    Path dir;

    private final Map<String, String> env = new HashMap<>();

    private RelayConfig load() {
        return new ConfigLoader(new Env(env), dir).load();
    }

    private void file(String name, String... lines) throws IOException {
        Files.write(dir.resolve(name), List.of(lines));
    }

    @Test
    void case1DefaultRelayHostForEverySenderWithoutAuth() {
        env.put("DEFAULT_RELAY_HOST", "[smtp.r.test]:587");
        RelayConfig cfg = load();
        for (String sender : List.of("a@one.test", "x@other.test", "")) {
            Route r = Router.route(cfg, sender, "bob@ext.test");
            assertThat(r.source()).isEqualTo(Route.Source.DEFAULT_RELAY);
            assertThat(r.nextHops()).extracting(NextHop::asWritten).containsExactly("[smtp.r.test]:587");
            assertThat(r.nextHops().get(0).mxLookup()).isFalse();
            assertThat(r.credentialsFor("smtp.r.test", r.nextHops().get(0))).isEmpty();
            assertThat(r.tlsLevel()).isEqualTo(TlsLevel.MAY);
        }
    }

    @Test
    void case2LegacyRelayHostMapsOnlyLocalSenderDomains() throws IOException {
        env.put("RELAY_HOST", "r.test");
        file("postfix-accounts.cf", "a@one.test|{SHA512-CRYPT}$6$x", "b@two.test|{SHA512-CRYPT}$6$y");
        RelayConfig cfg = load();
        Route local = Router.route(cfg, "a@two.test", "bob@ext.test");
        assertThat(local.source()).isEqualTo(Route.Source.SENDER_MAP);
        assertThat(local.mapKey()).contains("@two.test");
        assertThat(local.nextHops()).extracting(NextHop::asWritten).containsExactly("[r.test]:25");
        assertThat(local.tlsLevel()).isEqualTo(TlsLevel.MAY);
        for (String sender : List.of("x@other.test", "")) {
            Route r = Router.route(cfg, sender, "bob@ext.test");
            assertThat(r.source()).isEqualTo(Route.Source.DIRECT);
            assertThat(r.directDomain()).contains("ext.test");
        }
    }

    @Test
    void case3CredentialsMakeTlsMandatoryAndKeyToTheLegacyHost() throws IOException {
        env.put("RELAY_HOST", "r.test");
        env.put("RELAY_PORT", "587");
        env.put("RELAY_USER", "u");
        env.put("RELAY_PASSWORD", "p:w");
        env.put("LOCAL_SENDER_DOMAINS", "one.test,two.test");
        RelayConfig cfg = load();
        Route r = Router.route(cfg, "a@two.test", "bob@ext.test");
        assertThat(r.nextHops()).extracting(NextHop::asWritten).containsExactly("[r.test]:587");
        assertThat(r.tlsLevel()).isEqualTo(TlsLevel.ENCRYPT);
        Credentials c = r.credentialsFor("r.test", r.nextHops().get(0)).orElseThrow();
        assertThat(c.username()).isEqualTo("u");
        assertThat(c.password()).isEqualTo("p:w");
        assertThat(c.key()).isEqualTo("[r.test]:587");
        assertThat(c.toString()).doesNotContain("p:w");
    }

    @Test
    void case4SenderDependentHostsAndCredentials() throws IOException {
        file("postfix-relaymap.cf", "@one.test [smtp.a.test]:2525", "boss@one.test [smtp.b.test]:587");
        file("postfix-sasl-password.cf", "@one.test ua:pa", "boss@one.test ub:pb", "[smtp.a.test]:2525 uh:ph");
        RelayConfig cfg = load();

        Route boss = Router.route(cfg, "BOSS+x@One.Test", "bob@ext.test");
        assertThat(boss.nextHops()).extracting(NextHop::asWritten).containsExactly("[smtp.b.test]:587");
        assertThat(boss.mapKey()).contains("boss@one.test");
        assertThat(boss.credentialsFor("smtp.b.test", boss.nextHops().get(0)).orElseThrow().username()).isEqualTo("ub");

        Route c = Router.route(cfg, "c@one.test", "bob@ext.test");
        assertThat(c.nextHops()).extracting(NextHop::asWritten).containsExactly("[smtp.a.test]:2525");
        assertThat(c.credentialsFor("smtp.a.test", c.nextHops().get(0)).orElseThrow().username()).isEqualTo("ua");

        Route other = Router.route(cfg, "x@other.test", "bob@ext.test");
        assertThat(other.source()).isEqualTo(Route.Source.DIRECT);
        assertThat(other.credentialsFor("mx.ext.test", null)).isEmpty();

        assertThat(List.of(boss.tlsLevel(), c.tlsLevel(), other.tlsLevel())).containsOnly(TlsLevel.ENCRYPT);
    }

    @Test
    void dunnoFallsBackToTheDefaultAndOptOutGoesDirect() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[smtp.r.test]:587");
        file("postfix-relaymap.cf", "@dunno.test DUNNO", "@direct.test", "<> [bounces.test]");
        RelayConfig cfg = load();
        assertThat(Router.route(cfg, "a@dunno.test", "b@ext.test").source()).isEqualTo(Route.Source.DEFAULT_RELAY);
        Route optOut = Router.route(cfg, "a@direct.test", "b@ext.test");
        assertThat(optOut.source()).isEqualTo(Route.Source.OPT_OUT);
        assertThat(optOut.nextHops()).isEmpty();
        assertThat(Router.route(cfg, "", "b@ext.test").nextHops()).extracting(NextHop::asWritten)
                .containsExactly("[bounces.test]");
    }

    @Test
    void credentialsFallBackToServerHostNameThenNextHopAsWritten() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "relay.test:587");
        file("postfix-sasl-password.cf", "mx1.relay.test byhost:x", "relay.test:587 byhop:y");
        RelayConfig cfg = load();
        Route r = Router.route(cfg, "a@one.test", "b@ext.test");
        assertThat(r.credentialsFor("mx1.relay.test", r.nextHops().get(0)).orElseThrow().username()).isEqualTo("byhost");
        assertThat(r.credentialsFor("mx2.relay.test", r.nextHops().get(0)).orElseThrow().username()).isEqualTo("byhop");
    }

    @Test
    void startUpErrorsNameTheVariableOrFileAndLine() throws IOException {
        env.put("RELAY_HOST", "r.test");
        env.put("RELAY_PORT", "smtp");
        assertThatThrownBy(this::load).hasMessage("RELAY_PORT: 'smtp' is not a port number");
        env.remove("RELAY_PORT");
        file("postfix-relaymap.cf", "@one.test [a.test]:2525", "@two.test [[b.test]]");
        assertThatThrownBy(this::load).hasMessageStartingWith("postfix-relaymap.cf:2: next hop '[[b.test]]'");
    }

    @Test
    void secretFilesAndUnknownMainCfParameters() throws IOException {
        Path secret = dir.resolve("secret");
        Files.writeString(secret, "from-file\n");
        env.put("DEFAULT_RELAY_HOST", "[smtp.r.test]:587");
        env.put("RELAY_USER", "u");
        env.put("RELAY_PASSWORD__FILE", secret.toString());
        file("postfix-main.cf", "smtp_tls_security_level = verify", "inet_protocols = ipv4");
        RelayConfig cfg = load();
        Route r = Router.route(cfg, "a@one.test", "b@ext.test");
        assertThat(r.credentialsFor("smtp.r.test", r.nextHops().get(0)).orElseThrow().password()).isEqualTo("from-file");
        assertThat(cfg.routing().tlsLevel()).isEqualTo(TlsLevel.VERIFY);
        assertThat(cfg.warnings()).containsExactly("postfix-main.cf:2: unsupported parameter 'inet_protocols' is ignored");
        assertThat(cfg.outboundSummary()).contains("[smtp.r.test]:587", "TLS verify", "AUTH configured")
                .doesNotContain("from-file");
    }

    @Test
    void senderLookupKeysFollowPostfixOrder() {
        assertThat(Router.senderLookupKeys("User+Ext@Example.COM"))
                .containsExactly("user+ext@example.com", "user@example.com", "@example.com");
        assertThat(Router.senderLookupKeys("")).containsExactly("<>");
    }
}
