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
import org.relaymta.config.ConfigException;

/** transport_maps as transport(5) has it: every value form, the key order, and its precedence over the sender tables. */
class TransportTableTest {
    @TempDir
    Path dir;

    private final Map<String, String> env = new HashMap<>();

    private RelayConfig load(String... transport) throws IOException {
        Files.write(dir.resolve("postfix-transport.cf"), List.of(transport));
        return new ConfigLoader(new Env(env), dir).load();
    }

    /** One row: a table line, a recipient, and what the route must be. */
    private record Row(String line, String recipient, Route.Source source, String hops, String direct, String action) {
    }

    @Test
    void everyValueFormRoutesAsTransport5Says() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[default.test]:587");
        List<Row> rows = List.of(
                new Row("ses.test smtp:[email-smtp.test]:587", "a@ses.test", Route.Source.TRANSPORT, "[email-smtp.test]:587", null, null),
                new Row("mx.test smtp:mail.partner.test", "a@mx.test", Route.Source.TRANSPORT, "mail.partner.test", null, null),
                new Row("relay.test relay:[10.0.0.5]", "a@relay.test", Route.Source.TRANSPORT, "[10.0.0.5]", null, null),
                new Row("direct.test smtp:", "a@direct.test", Route.Source.TRANSPORT, "", "direct.test", null),
                new Row("pool.test smtp:balance [a.test]:587 weight=3, [b.test]:587", "a@pool.test", Route.Source.TRANSPORT,
                        "[a.test]:587,[b.test]:587", null, null),
                new Row("gone.test error:5.1.1 this domain takes no mail", "a@gone.test", Route.Source.TRANSPORT, "", "gone.test",
                        "ERROR 5.1.1 this domain takes no mail"),
                new Row("later.test retry:4.3.2 maintenance", "a@later.test", Route.Source.TRANSPORT, "", "later.test",
                        "RETRY 4.3.2 maintenance"),
                new Row("nodsn.test error:no such domain", "a@nodsn.test", Route.Source.TRANSPORT, "", "nodsn.test",
                        "ERROR 5.0.0 no such domain"),
                new Row("void.test discard:", "a@void.test", Route.Source.TRANSPORT, "", "void.test", "DISCARD 2.0.0 discarded"),
                new Row("plain.test :", "a@plain.test", Route.Source.DEFAULT_RELAY, "[default.test]:587", null, null),
                new Row("hop.test :[only-hop.test]", "a@hop.test", Route.Source.TRANSPORT, "[only-hop.test]", null, null));
        for (Row row : rows) {
            RelayConfig cfg = load(row.line());
            Route r = Router.route(cfg, "app@one.test", row.recipient());
            assertThat(r.source()).as(row.line()).isEqualTo(row.source());
            assertThat(String.join(",", r.nextHops().stream().map(NextHop::asWritten).toList())).as(row.line()).isEqualTo(row.hops());
            if (row.direct() != null) {
                assertThat(r.directDomain()).as(row.line()).contains(row.direct());
            }
            if (row.action() == null) {
                assertThat(r.action()).as(row.line()).isEmpty();
            } else {
                TransportTable.Entry a = r.action().orElseThrow();
                assertThat(a.kind() + " " + a.dsn() + " " + a.text()).as(row.line()).isEqualTo(row.action());
            }
        }
    }

    @Test
    void keysAreTriedAddressThenDomainThenParentsThenStar() throws IOException {
        RelayConfig cfg = load("bob@ext.test smtp:[for-bob.test]", "ext.test smtp:[for-domain.test]",
                ".ext.test smtp:[for-subdomains.test]", "* smtp:[for-the-rest.test]");
        assertThat(hop(cfg, "bob@ext.test")).isEqualTo("[for-bob.test]");
        assertThat(hop(cfg, "bob+news@ext.test")).isEqualTo("[for-bob.test]");
        assertThat(hop(cfg, "carol@ext.test")).isEqualTo("[for-domain.test]");
        assertThat(hop(cfg, "carol@eu.mail.ext.test")).isEqualTo("[for-subdomains.test]");
        assertThat(hop(cfg, "carol@notext.test")).isEqualTo("[for-the-rest.test]");
        assertThat(TransportTable.keys("a+x@b.c.test")).containsExactly("a+x@b.c.test", "a@b.c.test", "b.c.test", ".c.test",
                ".test", "*");
    }

    private static String hop(RelayConfig cfg, String rcpt) {
        return Router.route(cfg, "app@one.test", rcpt).nextHops().get(0).asWritten();
    }

    @Test
    void transportWinsOverTheSenderMapAndTheRelayHost() throws IOException {
        env.put("DEFAULT_RELAY_HOST", "[default.test]:587");
        Files.write(dir.resolve("postfix-relaymap.cf"), List.of("@one.test [sender-relay.test]:2525"));
        RelayConfig cfg = load("blocked.test smtp:[ses.test]:587");
        assertThat(hop(cfg, "a@blocked.test")).isEqualTo("[ses.test]:587");
        assertThat(hop(cfg, "a@other.test")).isEqualTo("[sender-relay.test]:2525");
        assertThat(Router.route(cfg, "x@two.test", "a@other.test").source()).isEqualTo(Route.Source.DEFAULT_RELAY);
    }

    @Test
    void aTransportHopFindsItsCredentialsByHopAsWritten() throws IOException {
        Files.write(dir.resolve("postfix-sasl-password.cf"), List.of("[ses.test]:587 AKIA:secret"));
        RelayConfig cfg = load("blocked.test smtp:[ses.test]:587");
        Route r = Router.route(cfg, "app@one.test", "a@blocked.test");
        assertThat(r.credentialsFor("ses.test", r.nextHops().get(0))).hasValueSatisfying(c -> assertThat(c.username())
                .isEqualTo("AKIA"));
    }

    @Test
    void mistakesAreRefusedWithFileAndLine() {
        for (List<String> c : List.of(
                List.of("a.test lmtp:[x]", "lmtp: is not a transport"),
                List.of("a.test smtp:[x", "has '[' without ']'"),
                List.of("a.test error:4.1.1 wrong class", "needs a 5.x.x status"),
                List.of("a.test retry:5.1.1 wrong class", "needs a 4.x.x status"),
                List.of("a.test pipe:flags=R", "transport 'pipe' is not one"),
                List.of("a.test [x.test]", "is not transport:nexthop"),
                List.of("@a.test smtp:[x.test]", "is not a domain, .domain, user@domain or *"),
                List.of("a.test smtp:[x.test] weight=2", "a weight belongs after a hop of a 'balance' list"))) {
            assertThatThrownBy(() -> load("# comment", c.get(0))).as(c.get(0)).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("postfix-transport.cf:2").hasMessageContaining(c.get(1));
        }
    }

    @Test
    void aBalancePoolKeepsItsWeights() {
        List<NextHop> hops = NextHop.parseList("balance [a.test]:587 weight=3, [b.test]:587", "test");
        assertThat(NextHop.balanced(hops)).isTrue();
        assertThat(hops).extracting(NextHop::weight).containsExactly(3, 1);
        assertThat(NextHop.balanced(NextHop.parseList("[a.test]:587, [b.test]:587", "test"))).isFalse();
        assertThat(NextHop.balanced(NextHop.parseList("failover [a.test]:587 [b.test]:587", "test"))).isFalse();
    }
}
