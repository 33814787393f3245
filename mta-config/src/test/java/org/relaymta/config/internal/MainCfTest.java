package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

/** main.cf syntax as Postfix reads it: comments, continuation lines, the last definition winning, and errors that say where. */
class MainCfTest {

    private static MainCf parse(String... lines) {
        return MainCf.parse("main.cf", List.of(lines));
    }

    @Test
    void readsNameValuePairsWithTheLineEachWasSetOn() {
        MainCf cf = parse(
                "# a comment",
                "",
                "relayhost = [smtp.example.test]:587",
                "smtp_tls_security_level=encrypt",
                "   ",
                "message_size_limit =   10240000   ");

        assertThat(cf.get("relayhost").value()).isEqualTo("[smtp.example.test]:587");
        assertThat(cf.get("relayhost").location()).isEqualTo("main.cf:3");
        assertThat(cf.get("smtp_tls_security_level").value()).isEqualTo("encrypt");
        assertThat(cf.get("message_size_limit").value()).isEqualTo("10240000");
        assertThat(cf.get("message_size_limit").location()).isEqualTo("main.cf:6");
        assertThat(cf.get("mynetworks")).isNull();
        assertThat(cf.parameters().keySet())
                .containsExactly("relayhost", "smtp_tls_security_level", "message_size_limit");
    }

    @Test
    void continuationLinesJoinWithOneSpaceAndKeepTheFirstLineAsLocation() {
        MainCf cf = parse(
                "mynetworks = 127.0.0.0/8",
                "    10.0.0.0/8,",
                "\t192.168.0.0/16",
                "# a comment inside does not end the value",
                "  [::1]/128",
                "relayhost = [mail.test]");

        assertThat(cf.get("mynetworks").value()).isEqualTo("127.0.0.0/8 10.0.0.0/8, 192.168.0.0/16 [::1]/128");
        assertThat(cf.get("mynetworks").location()).isEqualTo("main.cf:1");
        assertThat(cf.get("relayhost").value()).isEqualTo("[mail.test]");
    }

    @Test
    void aLaterDefinitionWinsAsInPostfix() {
        MainCf cf = parse(
                "relayhost = [first.test]",
                "relayhost = [second.test]:2525");

        assertThat(cf.get("relayhost").value()).isEqualTo("[second.test]:2525");
        assertThat(cf.get("relayhost").location()).isEqualTo("main.cf:2");
        assertThat(cf.parameters()).hasSize(1);
    }

    @Test
    void anEmptyValueIsAValue() {
        MainCf cf = parse("relayhost =");

        assertThat(cf.get("relayhost").value()).isEmpty();
    }

    @Test
    void aValueMayHoldEqualsSigns() {
        MainCf cf = parse("smtp_sasl_security_options = a=b=c");

        assertThat(cf.get("smtp_sasl_security_options").value()).isEqualTo("a=b=c");
    }

    @Test
    void aLineWithoutEqualsSaysFileLineAndWhatItGot() {
        assertThatThrownBy(() -> parse("relayhost = [a.test]", "", "this is not a parameter"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("main.cf:3")
                .hasMessageContaining("expected 'name = value', got 'this is not a parameter'");
    }

    @Test
    void aContinuationLineFirstIsAnError() {
        assertThatThrownBy(() -> parse("# header", "   10.0.0.0/8"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("main.cf:2")
                .hasMessageContaining("continuation line without a preceding parameter");
    }

    @Test
    void anInvalidNameIsRefusedWithTheName() {
        assertThatThrownBy(() -> parse("relay host = x"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("main.cf:1")
                .hasMessageContaining("invalid parameter name 'relay host'");
        assertThatThrownBy(() -> parse("= value"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("main.cf:1");
        assertThatThrownBy(() -> parse("profile.key = value"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("invalid parameter name 'profile.key'");
    }

    @Test
    void aSecretsFileTakesDottedNamesAndNeverEchoesABadLine() {
        MainCf cf = MainCf.parse("oauth2-clients.cf", List.of(
                "m365.client_id = abc",
                "m365.client_secret = s3cr3t-value"), true);

        assertThat(cf.get("m365.client_secret").value()).isEqualTo("s3cr3t-value");

        assertThatThrownBy(() -> MainCf.parse("oauth2-clients.cf", List.of("client_secret hunter2-secret"), true))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("oauth2-clients.cf:1")
                .hasMessageContaining("the line is not shown")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> MainCf.parse("oauth2-clients.cf", List.of("client_secret = x"), true))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("write PROFILE.key = value");
    }

    @Test
    void aSecretsFileRefusesATwiceSetName() {
        assertThatThrownBy(() -> MainCf.parse("oauth2-clients.cf", List.of(
                "m365.client_id = a",
                "m365.client_id = b"), true))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("oauth2-clients.cf:2")
                .hasMessageContaining("m365.client_id is set twice (first at oauth2-clients.cf:1)");
    }

    @Test
    void readsAFileAsUtf8AndNamesItInErrors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("main.cf");
        Files.writeString(file, "myhostname = relay.test\nsmtp_tls_note = caf\u00e9\n", StandardCharsets.UTF_8);

        MainCf cf = MainCf.read(file);

        assertThat(cf.get("myhostname").value()).isEqualTo("relay.test");
        assertThat(cf.get("smtp_tls_note").value()).isEqualTo("caf\u00e9");
        assertThat(cf.get("smtp_tls_note").location()).isEqualTo("main.cf:2");

        assertThatThrownBy(() -> MainCf.read(dir.resolve("missing.cf")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("missing.cf")
                .hasMessageContaining("cannot read");
    }

    @Test
    void emptyHoldsNothing() {
        assertThat(MainCf.empty().parameters()).isEmpty();
        assertThat(MainCf.empty().get("relayhost")).isNull();
    }
}
