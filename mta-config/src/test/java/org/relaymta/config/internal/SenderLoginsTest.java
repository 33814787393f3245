package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

class SenderLoginsTest {
    @TempDir
    Path dir;

    @Test
    void dockerMailserversMapJoinsSelfVirtualAndRegexpOwners() throws Exception {
        Files.writeString(dir.resolve("postfix-virtual.cf"), "info@a.test alice@a.test\ninfo@a.test bob@a.test\n@c.test carol@c.test\n");
        Files.writeString(dir.resolve("postfix-regexp.cf"), "/^test[0-9]+@a\\.test/ alice@a.test\n    # an indented comment\n");
        SenderLogins logins = SenderLogins.dockerMailserver(dir);
        assertThat(logins.owners("info@a.test")).containsExactly("alice@a.test", "bob@a.test", "info@a.test");
        assertThat(logins.owners("test42@a.test")).containsExactly("test42@a.test", "alice@a.test");
        assertThat(logins.owners("Any+Tag@C.test")).containsExactly("carol@c.test", "Any+Tag@C.test");
        assertThat(logins.owns("ALICE@a.test", "info@a.test")).isTrue();
        assertThat(logins.owns("mallory@m.test", "info@a.test")).isFalse();
        assertThat(logins.sources()).containsExactly(dir.resolve("postfix-virtual.cf"), dir.resolve("postfix-regexp.cf"));
    }

    @Test
    void postfixTablesFirstMatchOrUnionmapWithContainerPaths() throws Exception {
        Files.writeString(dir.resolve("logins"), "boss@a.test alice@a.test\n@a.test admin@a.test\n");
        Files.writeString(dir.resolve("logins.pcre"), "/^(.*)$/ ${1}\n");
        SenderLogins first = SenderLogins.load("texthash:/etc/postfix/logins, pcre:/etc/postfix/logins.pcre", "main.cf:3", dir);
        assertThat(first.owners("boss@a.test")).containsExactly("alice@a.test");
        assertThat(first.owners("x+y@a.test")).containsExactly("admin@a.test");
        assertThat(first.owners("z@z.test")).containsExactly("z@z.test");
        SenderLogins union = SenderLogins.load("unionmap:{ texthash:/etc/postfix/logins, pcre:/etc/postfix/logins.pcre }",
                "main.cf:3", dir);
        assertThat(union.owners("boss@a.test")).containsExactly("alice@a.test", "boss@a.test");
        assertThatThrownBy(() -> SenderLogins.load("ldap:/etc/postfix/ldap-users.cf", "postfix-main.cf:7", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("postfix-main.cf:7")
                .hasMessageContaining("does not exist");
        Files.writeString(dir.resolve("ldap-users.cf"), "server_host = ldap\n");
        assertThatThrownBy(() -> SenderLogins.load("ldap:/etc/postfix/ldap-users.cf", "postfix-main.cf:7", dir))
                .isInstanceOf(ConfigException.class).hasMessageContaining("is not a texthash:");
        Files.writeString(dir.resolve("bad.pcre"), "/unclosed( alice\n");
        assertThatThrownBy(() -> SenderLogins.load("pcre:bad.pcre", "x", dir)).hasMessageContaining("bad.pcre:1");
    }

    @Test
    void restrictionsAndSpoofProtectionFromTheConfiguration() throws Exception {
        Files.writeString(dir.resolve("postfix-main.cf"), "smtpd_sender_restrictions = permit_mynetworks, "
                + "check_sender_access texthash:/etc/postfix/access, reject_sender_login_mismatch\n");
        RelayConfig cfg = new ConfigLoader(new Env(Map.of()), dir).load();
        SenderPolicy p = cfg.listener().senders();
        assertThat(p.relay()).containsExactly(SenderPolicy.Restriction.PERMIT_MYNETWORKS,
                SenderPolicy.Restriction.REJECT_SENDER_LOGIN_MISMATCH);
        assertThat(p.submission()).containsExactly(SenderPolicy.Restriction.REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH,
                SenderPolicy.Restriction.PERMIT_MYNETWORKS, SenderPolicy.Restriction.REJECT_SENDER_LOGIN_MISMATCH);
        assertThat(cfg.warnings()).anyMatch(w -> w.contains("postfix-main.cf:1") && w.contains("check_sender_access"));
        assertThat(new ConfigLoader(new Env(Map.of("SPOOF_PROTECTION", "0")), dir).load().listener().senders().submission())
                .doesNotContain(SenderPolicy.Restriction.REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH);
        assertThatThrownBy(() -> new ConfigLoader(new Env(Map.of("SPOOF_PROTECTION", "yes")), dir).load())
                .hasMessageContaining("SPOOF_PROTECTION").hasMessageContaining("not 0 or 1");
        List<String> warnings = new ArrayList<>();
        assertThatThrownBy(() -> SenderPolicy.parse("reject_sender_login_mismatch, allow_everyone", "main.cf:2", warnings))
                .hasMessageContaining("main.cf:2").hasMessageContaining("'allow_everyone' is not a restriction");
        Files.writeString(dir.resolve("postfix-main.cf"), "smtpd_sasl_authenticated_header = no\n");
        assertThat(new ConfigLoader(new Env(Map.of()), dir).load().listener().senders().authenticatedHeader()).isFalse();
    }
}
