package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;
import org.relaymta.config.TlsLevel;

/** smtp_tls_policy_maps: keys, levels, attributes, and errors that name file and line. */
class TlsPoliciesTest {
    private static TlsPolicies table(String... lines) {
        return TlsPolicies.parse("postfix-tls-policy.cf", List.of(lines));
    }

    @Test
    void aDomainMatchesItselfAndADotDomainItsSubdomains() {
        TlsPolicies t = table(
                "example.test      secure match=nexthop:dot-nexthop",
                ".example.test     verify",
                "[smtp.relay.test]:587  encrypt protocols=>=TLSv1.3",
                "[mx.legacy.test]  none");

        assertThat(t.lookup("example.test", 25, true).map(TlsPolicies.Policy::level)).contains(TlsLevel.SECURE);
        assertThat(t.lookup("example.test", 25, true).get().match()).containsExactly("nexthop", "dot-nexthop");
        assertThat(t.lookup("a.b.example.test", 25, true).map(TlsPolicies.Policy::level)).contains(TlsLevel.VERIFY);
        assertThat(t.lookup("otherexample.test", 25, true)).isEmpty();
        assertThat(t.lookup("smtp.relay.test", 587, false).map(TlsPolicies.Policy::level)).contains(TlsLevel.ENCRYPT);
        assertThat(t.lookup("smtp.relay.test", 587, false).get().protocols()).containsExactly("TLSv1.3");
        assertThat(t.lookup("smtp.relay.test", 25, false)).isEmpty();
        assertThat(t.lookup("mx.legacy.test", 25, false).map(TlsPolicies.Policy::level)).contains(TlsLevel.NONE);
        assertThat(t.lookup("SMTP.Relay.TEST", 587, false)).isPresent();
        assertThat(t.lookup("example.test", 25, true).get().location()).isEqualTo("postfix-tls-policy.cf:1");
    }

    @Test
    void everyLevelParsesAndFingerprintsAreNormalised() {
        TlsPolicies t = table(
                "a.test dane",
                "b.test dane-only",
                "c.test fingerprint match=3D:95:34:51:24:66:33:B9:D2:A1:CB:E5:61:1E:78:6B:FD:C8:5D:37:12:4A:BC:7F:A3:87:B7:DC:3D:4F:5F:33"
                        + "|ab" + "00".repeat(31),
                "d.test may ciphers=high",
                "e.test encrypt exclude=aNULL");

        assertThat(t.lookup("a.test", 25, true).get().level()).isEqualTo(TlsLevel.DANE);
        assertThat(t.lookup("b.test", 25, true).get().level()).isEqualTo(TlsLevel.DANE_ONLY);
        assertThat(t.lookup("c.test", 25, true).get().match()).containsExactly(
                "3d9534512466 33b9d2a1cbe5611e786bfdc85d37124abc7fa387b7dc3d4f5f33".replace(" ", ""), "ab" + "00".repeat(31));
        assertThat(t.lookup("d.test", 25, true).get().ciphers()).contains("high");
        assertThat(t.lookup("e.test", 25, true).get().ciphers()).isEmpty();
    }

    @Test
    void mistakesAreRefusedWithFileAndLine() {
        assertThatThrownBy(() -> table("a.test may", "b.test maybe"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("postfix-tls-policy.cf:2").hasMessageContaining("unsupported TLS security level 'maybe'");
        assertThatThrownBy(() -> table("a.test fingerprint"))
                .hasMessageContaining("postfix-tls-policy.cf:1").hasMessageContaining("needs match=");
        assertThatThrownBy(() -> table("a.test fingerprint match=12:34"))
                .hasMessageContaining("expected a SHA-256 digest");
        assertThatThrownBy(() -> table("a.test encrypt match=nexthop"))
                .hasMessageContaining("match= applies to the fingerprint, verify and secure levels");
        assertThatThrownBy(() -> table("a.test secure colour=blue"))
                .hasMessageContaining("unknown attribute 'colour=blue'");
        assertThatThrownBy(() -> table("a.test secure ciphers=strong")).hasMessageContaining("ciphers=strong");
        assertThatThrownBy(() -> table("a.test secure protocols=!TLSv1.2:!TLSv1.3")).hasMessageContaining("no supported protocol");
        assertThatThrownBy(() -> table("[broken.test:25 may")).hasMessageContaining("is not a domain, .domain or [host]:port");
        assertThatThrownBy(() -> table("bad_name!.test may")).hasMessageContaining("postfix-tls-policy.cf:1");
    }

    @Test
    void theDefaultFileIsOptionalAndAContainerPathIsFoundInTheConfigDirectory(@TempDir Path config) throws Exception {
        TlsPolicies none = TlsPolicies.load(Optional.empty(), "main.cf:1", config);
        assertThat(none.isEmpty()).isTrue();
        assertThat(none.sources()).as("watched, so creating it takes effect").containsExactly(config.resolve(TlsPolicies.FILE));

        Files.writeString(config.resolve("tls_policy"), "example.test dane-only\n");
        TlsPolicies named = TlsPolicies.load(Optional.of("texthash:/etc/postfix/tls_policy"), "main.cf:3", config);
        assertThat(named.lookup("example.test", 25, true).get().level()).isEqualTo(TlsLevel.DANE_ONLY);

        assertThatThrownBy(() -> TlsPolicies.load(Optional.of("regexp:/etc/postfix/x"), "main.cf:3", config))
                .hasMessageContaining("main.cf:3").hasMessageContaining("not one texthash:, hash: or lmdb: table");
        assertThatThrownBy(() -> TlsPolicies.load(Optional.of("hash:/etc/postfix/missing"), "main.cf:3", config))
                .hasMessageContaining("does not exist");
    }
}
