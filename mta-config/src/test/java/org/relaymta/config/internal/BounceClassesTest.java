package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

class BounceClassesTest {
    @TempDir
    Path dir;

    /** Replies as providers send them and reasons as the relay words them, each with its class. */
    static final List<String[]> CASES = List.of(
            new String[] {"5.7.26", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.26 This mail has been blocked because the sender is unauthenticated. (in reply to end of DATA command)", "policy-authentication"},
            new String[] {"5.7.515", "host mx.protection.outlook.com[52.1.1.1] said: 550 5.7.515 Access denied, sending domain example.com does not meet the required authentication level. (in reply to end of DATA command)", "policy-authentication"},
            new String[] {"4.7.28", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 Our system has detected an unusual rate of unsolicited mail (in reply to end of DATA command)", "rate-limited"},
            new String[] {"4.7.500", "host mx.protection.outlook.com[52.1.1.1] said: 451 4.7.500 Server busy. Please try again later (in reply to RCPT TO command)", "rate-limited"},
            new String[] {"4.7.0", "host mta7.am0.yahoodns.net[67.195.204.77] said: 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume (in reply to MAIL FROM command)", "rate-limited"},
            new String[] {"4.0.0", "host email-smtp.eu-west-1.amazonaws.com[3.1.1.1] said: 454 Throttling failure: Maximum sending rate exceeded. (in reply to end of DATA command)", "rate-limited"},
            new String[] {"5.7.606", "host mx.protection.outlook.com[52.1.1.1] said: 550 5.7.606 Access denied, banned sending IP [192.0.2.1]. (in reply to RCPT TO command)", "spam-block"},
            new String[] {"5.7.139", "host smtp.office365.com[52.1.1.2] said: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. (in reply to AUTH command)", "auth-failed"},
            new String[] {"5.7.8", "host smtp.gmail.com[142.250.1.108] said: 535-5.7.8 Username and Password not accepted. (in reply to AUTH command)", "auth-failed"},
            new String[] {"4.7.8", "host smtp.relay.test[192.0.2.9] said: 454 4.7.8 Temporary authentication failure (in reply to AUTH command)", "auth-failed"},
            new String[] {"5.7.1", "host mx.ext.test[192.0.2.3] said: 554 5.7.1 <bob@ext.test>: Relay access denied (in reply to RCPT TO command)", "relay-denied"},
            new String[] {"4.7.4", "TLS is required, but was not offered by host smtp.relay.test[192.0.2.9]", "tls-required"},
            new String[] {"5.7.0", "host mx.ext.test[192.0.2.3] said: 530 5.7.0 Must issue a STARTTLS command first (in reply to MAIL FROM command)", "tls-required"},
            new String[] {"5.3.4", "message size 30000000 exceeds size limit 10240000 of server mx.ext.test[192.0.2.3]", "message-too-large"},
            new String[] {"5.0.0", "host mx.ext.test[192.0.2.3] said: 552 Message too big (in reply to end of DATA command)", "message-too-large"},
            new String[] {"5.2.2", "host mx.ext.test[192.0.2.3] said: 552 5.2.2 <bob@ext.test>: Mailbox full (in reply to RCPT TO command)", "mailbox-full"},
            new String[] {"4.0.0", "host mx.ext.test[192.0.2.3] said: 450 Mailbox over quota (in reply to RCPT TO command)", "mailbox-full"},
            new String[] {"5.1.1", "host mx.ext.test[192.0.2.3] said: 550 5.1.1 <nobody@ext.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)", "invalid-recipient"},
            new String[] {"5.0.0", "host mx.ext.test[192.0.2.3] said: 550 No such user here (in reply to RCPT TO command)", "invalid-recipient"},
            new String[] {"5.4.4", "Host or domain name not found. Name service error for name=nowhere.test type=MX: Host not found", "dns-failure"},
            new String[] {"4.0.0", "DNS lookup of nowhere.test: NXDOMAIN from the second server", "dns-failure"},
            new String[] {"4.7.1", "host mx.ext.test[192.0.2.3] said: 451 4.7.1 Please slow down (in reply to RCPT TO command)", "rate-limited"},
            new String[] {"5.7.1", "host mx.ext.test[192.0.2.3] said: 550 5.7.1 Message rejected as spam by Content Filtering (in reply to end of DATA command)", "spam-block"},
            new String[] {"5.7.350", "host mx.protection.outlook.com[52.1.1.1] said: 550 5.7.350 Remote server returned message detected as spam (in reply to end of DATA command)", "spam-block"},
            new String[] {"4.4.1", "connect to mx.ext.test[192.0.2.3]:25: Connection timed out", "other"});

    @Test
    void providerRepliesAndLocalReasonsGetTheirClasses() {
        BounceClasses shipped = BounceClasses.shipped();
        for (String[] c : CASES) {
            assertThat(shipped.classify(c[0], c[1])).as(c[1]).isEqualTo(c[2]);
        }
    }

    @Test
    void everyClassTheIssueNamesHasACase() {
        Set<String> classes = new HashSet<>();
        CASES.forEach(c -> classes.add(c[2]));
        assertThat(classes).contains("invalid-recipient", "mailbox-full", "policy-authentication", "spam-block", "rate-limited",
                "tls-required", "dns-failure", "message-too-large", "relay-denied", "auth-failed", "other");
        // And every shipped class is one of them.
        assertThat(BounceClasses.shipped().rows()).extracting(BounceClasses.Row::bounceClass).allMatch(classes::contains);
    }

    @Test
    void theReplyCodeIsReadFromTheReason() {
        assertThat(BounceClasses.replyCode("host a[1.2.3.4] said: 421-4.7.28 x")).isEqualTo(421);
        assertThat(BounceClasses.replyCode("550 5.1.1 no")).isEqualTo(550);
        assertThat(BounceClasses.replyCode("connect to a[1.2.3.4]:25: Connection refused")).isZero();
    }

    @Test
    void theOperatorsRowsComeFirst() throws Exception {
        Files.writeString(dir.resolve(BounceClasses.FILE), "# ours\n5.1.1 /mailbox disabled/ mailbox-disabled\n4.7.0 quiet-hours\n");
        BounceClasses classes = BounceClasses.load(dir);
        assertThat(classes.classify("5.1.1", "host a[1.2.3.4] said: 550 5.1.1 mailbox disabled")).isEqualTo("mailbox-disabled");
        assertThat(classes.classify("5.1.1", "host a[1.2.3.4] said: 550 5.1.1 user unknown")).isEqualTo("invalid-recipient");
        assertThat(classes.classify("4.7.0", "host a[1.2.3.4] said: 421 4.7.0 Try again later")).isEqualTo("quiet-hours");
        assertThat(classes.rowFor("4.7.0", "x").location()).isEqualTo(dir.resolve(BounceClasses.FILE) + ":3");
    }

    @Test
    void aBadRowIsAnErrorWithFileAndLine() throws Exception {
        Files.writeString(dir.resolve(BounceClasses.FILE), "5.1.1 invalid-recipient\n5.1 oops\n");
        assertThatThrownBy(() -> BounceClasses.load(dir)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(BounceClasses.FILE + ":2").hasMessageContaining("'5.1' is not a reply code");
        Files.writeString(dir.resolve(BounceClasses.FILE), "550 /user (unknown/ invalid-recipient\n");
        assertThatThrownBy(() -> BounceClasses.load(dir)).hasMessageContaining(":1").hasMessageContaining("bad regular expression");
        Files.writeString(dir.resolve(BounceClasses.FILE), "550 Invalid\n");
        assertThatThrownBy(() -> BounceClasses.load(dir)).hasMessageContaining(":1").hasMessageContaining("expected");
    }
}
