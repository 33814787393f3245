package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

/**
 * relay-shaping.cf: each shipped rule against its provider's real reply text (as the relay logs
 * it), replies that must not match, overrides, and errors with file and line.
 */
class ShapingRulesTest {
    @TempDir
    Path dir;

    private static String said(String host, String reply) {
        return "host " + host + "[192.0.2.1] said: " + reply + " (in reply to end of DATA command)";
    }

    private static Optional<ShapingRules.Match> shipped(String host, String hop, String dsn, String reply) {
        return ShapingRules.shipped().match(host, hop, dsn, said(host, reply));
    }

    private static void assertRule(String host, String dsn, String reply, String rule, String destination) {
        Optional<ShapingRules.Match> m = shipped(host, null, dsn, reply);
        assertThat(m).as(reply).isPresent();
        assertThat(m.get().rule().name()).isEqualTo(rule);
        assertThat(m.get().destination()).isEqualTo(destination);
    }

    @Test
    void everyShippedRuleMatchesItsProvidersReply() {
        assertRule("gmail-smtp-in.l.google.com", "4.7.28", "421 4.7.28 [192.0.2.1 15] Our system has detected an unusual rate of "
                + "unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP "
                + "address has been temporarily rate limited. - gsmtp", "gmail-rate", "*.l.google.com");
        assertRule("alt1.aspmx.l.google.com", "4.7.32", "421 4.7.32 Too many connections from your IP. - gsmtp",
                "gmail-connections", "*.l.google.com");
        assertRule("smtp.gmail.com", "4.7.0", "421 4.7.0 Try again later, closing connection. (EHLO) - gsmtp",
                "gmail-try-later", "smtp.gmail.com");
        assertRule("example-com.mail.protection.outlook.com", "4.7.500", "451 4.7.500 Server busy. Please try again later from "
                + "[192.0.2.1]. (S77719) [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", "microsoft-busy",
                "*.protection.outlook.com");
        assertRule("example-com.mail.protection.outlook.com", "4.7.650", "451 4.7.650 The mail server [192.0.2.1] has been "
                + "temporarily rate limited due to IP reputation. For e-mail delivery information, see "
                + "https://postmaster.live.com (S775) [Name=Protocol Filter Agent]", "microsoft-rate", "*.protection.outlook.com");
        assertRule("smtp.office365.com", "4.3.2", "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded "
                + "[Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", "microsoft-threads", "smtp.office365.com");
        assertRule("smtp.office365.com", "5.2.0", "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; "
                + "Failed to process message due to a permanent exception with message Cannot submit message.",
                "microsoft-quota", "smtp.office365.com");
        assertRule("mta5.am0.yahoodns.net", "4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to "
                + "unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
                "yahoo-deferred", "*.yahoodns.net");
        assertRule("email-smtp.eu-west-1.amazonaws.com", "", "454 Throttling failure: Maximum sending rate exceeded.",
                "ses-rate", "*.amazonaws.com");
        assertRule("email-smtp.us-east-1.amazonaws.com", "", "454 Throttling failure: Daily message quota exceeded.",
                "ses-daily-quota", "*.amazonaws.com");
        assertRule("smtp.sendgrid.net", "", "451 Authentication failed: Maximum credits exceeded", "sendgrid-credits",
                "smtp.sendgrid.net");
        assertRule("smtp.mailgun.org", "", "421 Domain sandbox0123456789abcdef.mailgun.org is not allowed to send: Sandbox "
                + "subdomains are for test purposes only. Please add your own domain or add the address to authorized "
                + "recipients in Account Settings.", "mailgun-sandbox", "*.mailgun.org");
        assertThat(ShapingRules.shipped().rules()).extracting(ShapingRules.Rule::name).containsExactlyInAnyOrder(
                "gmail-rate", "gmail-connections", "gmail-try-later", "microsoft-busy", "microsoft-rate", "microsoft-threads",
                "microsoft-quota", "yahoo-deferred", "ses-rate", "ses-daily-quota", "sendgrid-credits", "mailgun-sandbox",
                "mailgun-rate");
    }

    @Test
    void otherRepliesAndOtherDestinationsDoNotMatch() {
        // A mailbox-level deferral at Gmail is not a rate problem of the relay's.
        assertThat(shipped("gmail-smtp-in.l.google.com", null, "4.2.2", "452 4.2.2 The recipient's inbox is out of storage "
                + "space. - gsmtp")).isEmpty();
        // The same words from a server no rule names.
        assertThat(shipped("mx.example.org", null, "4.7.28", "421 4.7.28 unusual rate")).isEmpty();
        // A next hop as written is matched exactly; a name pattern needs a name under it.
        assertThat(ShapingRules.matches("*.l.google.com", "l.google.com", null)).isFalse();
        assertThat(ShapingRules.matches("*.l.google.com", "ALT2.ASPMX.L.GOOGLE.COM.", null)).isTrue();
        assertThat(ShapingRules.matches("[smtp.example.com]:587", "smtp.example.com", "[smtp.example.com]:587")).isTrue();
        assertThat(ShapingRules.matches("[smtp.example.com]:587", "smtp.example.com", "[smtp.example.com]:25")).isFalse();
    }

    @Test
    void ownRowsComeFirstReplaceShippedOnesByNameAndOffDropsOne() throws Exception {
        Files.writeString(dir.resolve("relay-shaping.cf"), """
                # our smarthost says 451 4.7.1 when we send too fast
                company-relay  [relay.example.com]:587  451 /too fast/  throttle factor=0.25 quiet=2m
                gmail-rate     *.l.google.com           4.7.28          suspend for=30m
                mailgun-sandbox off
                """);
        ShapingRules rules = ShapingRules.load(dir);
        assertThat(rules.rules().get(0).name()).isEqualTo("company-relay");
        ShapingRules.Rule own = rules.match("relay.example.com", "[relay.example.com]:587", "4.7.1",
                said("relay.example.com", "451 4.7.1 You send too fast")).orElseThrow().rule();
        assertThat(own.action()).isEqualTo(ShapingRules.Action.THROTTLE);
        assertThat(own.factor()).isEqualTo(0.25);
        assertThat(own.quiet()).isEqualTo(Duration.ofMinutes(2));
        ShapingRules.Rule gmail = rules.rules().stream().filter(r -> r.name().equals("gmail-rate")).findFirst().orElseThrow();
        assertThat(gmail.action()).isEqualTo(ShapingRules.Action.SUSPEND);
        assertThat(gmail.duration()).isEqualTo(Duration.ofMinutes(30));
        assertThat(rules.rules()).extracting(ShapingRules.Rule::name).doesNotContain("mailgun-sandbox").contains("ses-rate");
    }

    @Test
    void mistakesAreRefusedWithFileAndLine() throws Exception {
        String file = dir.resolve("relay-shaping.cf").toString();
        Files.writeString(dir.resolve("relay-shaping.cf"), "ok *.example.com 421 throttle\nbad *.example.com 421 slow-down\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(file + ":2").hasMessageContaining("throttle|suspend|bounce");
        Files.writeString(dir.resolve("relay-shaping.cf"), "s *.example.com 421 suspend\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining(file + ":1").hasMessageContaining("for=");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t *.example.com 421 throttle factor=2\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining("between 0 and 1");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t ex#ample 421 throttle\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining("is not a destination");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t *.example.com 4.7 throttle\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining(file + ":1").hasMessageContaining("reply code");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t *.example.com 421 /(/ throttle\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining("bad regular expression");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t *.example.com 421 bounce for=1m\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining("'for' is not a setting of bounce");
        Files.writeString(dir.resolve("relay-shaping.cf"), "t *.example.com 421 bounce\nt *.example.net 421 bounce\n");
        assertThatThrownBy(() -> ShapingRules.load(dir)).hasMessageContaining(file + ":2").hasMessageContaining("already defined");
    }
}
