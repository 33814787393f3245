package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

/** The content policy inputs: header_checks tables, milter lists, DKIM tables and keys, with their errors. */
class ContentPolicyConfigTest {
    @TempDir
    Path dir;

    private HeaderChecks table(String content) throws Exception {
        Files.writeString(dir.resolve("header_checks"), content);
        return HeaderChecks.load("header_checks", "regexp:/etc/postfix/header_checks", "postfix-main.cf:3", dir,
                EnumSet.allOf(HeaderChecks.Action.class));
    }

    @Test
    void headerChecksMatchCaseInsensitivelyFirstRuleWinsWithGroupsAndNegation() throws Exception {
        HeaderChecks checks = table("""
                # comment
                /^Subject:.*(viagra)/ REJECT no $1 here
                /^X-Case: Exact/i WARN case-sensitive match
                !/^(From|To|Subject):/
                  DUNNO
                /^Subject:/ PREPEND X-Seen: yes
                """);
        assertThat(checks.match("subject: cheap VIAGRA").orElseThrow())
                .satisfies(r -> assertThat(r.action()).isEqualTo(HeaderChecks.Action.REJECT))
                .satisfies(r -> assertThat(r.text()).isEqualTo("no VIAGRA here"))
                .satisfies(r -> assertThat(r.location()).isEqualTo("header_checks:2"));
        assertThat(checks.match("X-Case: exact").orElseThrow().action()).isEqualTo(HeaderChecks.Action.DUNNO);
        assertThat(checks.match("X-Case: Exact").orElseThrow().action()).isEqualTo(HeaderChecks.Action.WARN);
        assertThat(checks.match("Subject: hello").orElseThrow().text()).isEqualTo("X-Seen: yes");
    }

    @Test
    void badTablesAreErrorsWithFileAndLine() {
        assertThatThrownBy(() -> table("/^Subject:/ REJECT\n/unclosed HOLD\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("header_checks:2").hasMessageContaining("no closing '/'");
        assertThatThrownBy(() -> table("/x/ FROB\n")).hasMessageContaining("header_checks:1").hasMessageContaining("'FROB' is not an action");
        assertThatThrownBy(() -> table("/x/ REPLACE nothing\n")).hasMessageContaining("REPLACE needs a header line");
        assertThatThrownBy(() -> table("/x(/ IGNORE\n")).hasMessageContaining("bad pattern");
        assertThatThrownBy(() -> table("if /x/\n/y/ IGNORE\nendif\n")).hasMessageContaining("if/endif blocks are not supported");
        assertThatThrownBy(() -> HeaderChecks.load("header_checks", "hash:/etc/postfix/x", "postfix-main.cf:3", dir,
                EnumSet.allOf(HeaderChecks.Action.class))).hasMessageContaining("postfix-main.cf:3")
                .hasMessageContaining("not a regexp: or pcre: table");
    }

    @Test
    void milterAddressesInPostfixAndSendmailForms() {
        assertThat(MilterSettings.parseList("inet:127.0.0.1:8891, inet:8892@localhost unix:/run/opendkim/opendkim.sock", "x"))
                .extracting(a -> a.unix() ? "unix " + a.socket() : a.host() + " " + a.port())
                .containsExactly("127.0.0.1 8891", "localhost 8892", "unix /run/opendkim/opendkim.sock");
        assertThatThrownBy(() -> MilterSettings.parseList("inet:host", "postfix-main.cf:7")).hasMessageContaining("postfix-main.cf:7");
        assertThatThrownBy(() -> MilterSettings.parseList("tcp:1.2.3.4:5", "x")).hasMessageContaining("not inet:HOST:PORT or unix:/path");
        assertThatThrownBy(() -> MilterSettings.parseList("{ inet:h:1, default_action=accept }", "x"))
                .hasMessageContaining("per-milter settings");
    }

    @Test
    void milterParametersFromMainCf() throws Exception {
        Files.writeString(dir.resolve("postfix-main.cf"), "smtpd_milters = inet:127.0.0.1:8891\nmilter_default_action = bounce\n");
        assertThatThrownBy(() -> new ConfigLoader(new Env(Map.of()), dir).load())
                .hasMessageContaining("postfix-main.cf:2").hasMessageContaining("'bounce' is not tempfail, accept, reject or quarantine");
        Files.writeString(dir.resolve("postfix-main.cf"), "non_smtpd_milters = unix:/tmp/m.sock\nmilter_command_timeout = 5s\n"
                + "milter_mail_macros = i {mail_addr}\n");
        MilterSettings m = new ConfigLoader(new Env(Map.of()), dir).load().content().milters();
        assertThat(m.smtpd()).isEmpty();
        assertThat(m.nonSmtpd()).hasSize(1);
        assertThat(m.commandTimeout()).hasSeconds(5);
        assertThat(m.macros().get("mail")).containsExactly("i", "{mail_addr}");
        assertThat(m.defaultAction()).isEqualTo("tempfail");
    }

    @Test
    void dkimTablesResolveContainerPathsAndRefilePatterns() throws Exception {
        assertThat(DkimTable.keyFile(dir, "/etc/opendkim/keys/example.com/mail.private"))
                .isEqualTo(dir.resolve("opendkim/keys/example.com/mail.private"));
        assertThat("app@Example.com").matches(DkimTable.glob("*@example.com"));
        assertThat("app@sub.example.com").doesNotMatch(DkimTable.glob("*@example.com"));
        assertThat("app@sub.example.com").matches(DkimTable.glob("*@*.example.com"));
        Files.createDirectories(dir.resolve("opendkim"));
        Files.writeString(dir.resolve("opendkim/SigningTable"), "*@example.com mail._domainkey.example.com\n");
        assertThatThrownBy(() -> DkimTable.load(dir)).hasMessageContaining("opendkim/SigningTable:1")
                .hasMessageContaining("is not a name in opendkim/KeyTable");
        Files.writeString(dir.resolve("opendkim/KeyTable"), "mail._domainkey.example.com example.com:mail:/etc/opendkim/keys/nope.private\n");
        assertThatThrownBy(() -> DkimTable.load(dir)).hasMessageContaining("opendkim/KeyTable:1").hasMessageContaining("cannot read the DKIM key");
        Files.writeString(dir.resolve("opendkim/keys.private"), "not a key");
        Files.writeString(dir.resolve("opendkim/KeyTable"), "mail._domainkey.example.com example.com:mail:keys.private\n");
        assertThatThrownBy(() -> DkimTable.load(dir)).hasMessageContaining("is not a PEM private key")
                .hasMessageNotContaining("not a key");
    }
}
