package org.relaymta.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;

class PolicyHooksTest {
    @TempDir
    Path dir;

    private SessionState session(RelayListener.Mode mode, String ip, String... mainCf) throws Exception {
        RelayConfig cfg = ListenerTestConfig.load(dir, mainCf);
        return new SessionState(mode, cfg, InetAddress.getByName(ip), false);
    }

    @Test
    void recipientsOverTheLimitAre452AndCountAsErrorsOnlyPastTheOvershoot() throws Exception {
        SessionState s = session(RelayListener.Mode.RELAY, "127.0.0.1", "smtpd_recipient_limit = 2",
                "smtpd_recipient_overshoot_limit = 3");
        RecipientLimit hook = new RecipientLimit();
        s.startTransaction("a@one.test");
        assertThat(hook.rcpt(s, "r1@x.test").declined()).isTrue();
        s.recipients().add("r1@x.test");
        s.recipients().add("r2@x.test");
        for (int i = 1; i <= 3; i++) {
            HookResult r = hook.rcpt(s, "over@x.test");
            assertThat(r.code()).isEqualTo(452);
            assertThat(r.text()).isEqualTo("4.5.3 Error: too many recipients");
            assertThat(r.countsAsError()).as("overshoot %d", i).isFalse();
        }
        assertThat(hook.rcpt(s, "over@x.test").countsAsError()).as("past the overshoot limit").isTrue();
        s.resetTransaction();
        s.startTransaction("a@one.test");
        s.recipients().add("r1@x.test");
        s.recipients().add("r2@x.test");
        assertThat(hook.rcpt(s, "over@x.test").countsAsError()).as("a new transaction starts over").isFalse();
    }

    @Test
    void relayAccessForMynetworksOrAuthenticatedOnly() throws Exception {
        RelayAccess hook = new RelayAccess();
        assertThat(hook.rcpt(session(RelayListener.Mode.RELAY, "127.0.0.1", "mynetworks = 127.0.0.0/8"), "b@x.test")
                .declined()).isTrue();
        SessionState outside = session(RelayListener.Mode.RELAY, "192.0.2.9", "mynetworks = 127.0.0.0/8");
        HookResult denied = hook.rcpt(outside, "b@x.test");
        assertThat(denied.code()).isEqualTo(554);
        assertThat(denied.text()).isEqualTo("5.7.1 <b@x.test>: Relay access denied");
        outside.authenticated("alice@one.test", "PLAIN");
        assertThat(hook.rcpt(outside, "b@x.test").declined()).isTrue();
        assertThat(hook.rcpt(session(RelayListener.Mode.SUBMISSION, "127.0.0.1", "mynetworks = 127.0.0.0/8"), "b@x.test")
                .code()).as("submission: mynetworks is not enough").isEqualTo(554);
    }

    @Test
    void submissionNeedsAuthBeforeMailAndAFullSpoolSays452() throws Exception {
        SessionState sub = session(RelayListener.Mode.SUBMISSION, "192.0.2.9");
        MailPath path = MailPath.parse("FROM:<a@one.test>", "FROM:");
        assertThat(new SubmissionGate().mail(sub, path).code()).isEqualTo(530);
        sub.authenticated("alice@one.test", "PLAIN");
        assertThat(new SubmissionGate().mail(sub, path).declined()).isTrue();
        assertThat(new SubmissionGate().mail(session(RelayListener.Mode.RELAY, "127.0.0.1"), path).declined()).isTrue();

        FakeReceiver receiver = new FakeReceiver();
        assertThat(new SpoolSpace(receiver).mail(sub, path).declined()).isTrue();
        receiver.room = false;
        HookResult full = new SpoolSpace(receiver).mail(sub, path);
        assertThat(full.action()).isEqualTo(HookResult.Action.DENYSOFT);
        assertThat(full.code() + " " + full.text()).isEqualTo("452 4.3.1 Insufficient system storage");
    }

    private HookResult mailAs(SessionState s, String sender) {
        return new SenderLoginCheck().mail(s, MailPath.parse("FROM:<" + sender + ">", "FROM:"));
    }

    @Test
    void submissionUsersSendOnlyAsAddressesTheyOwn() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("postfix-virtual.cf"), "sales@a.test alice@a.test, bob@a.test\n@c.test carol@c.test\n");
        Files.writeString(dir.resolve("postfix-regexp.cf"), "/^bounce-.*@a\\.test$/ alice@a.test\n");
        SessionState alice = session(RelayListener.Mode.SUBMISSION, "192.0.2.9");
        alice.authenticated("Alice@A.test", "PLAIN");
        assertThat(mailAs(alice, "alice@a.test").declined()).as("her own address, any case").isTrue();
        assertThat(mailAs(alice, "sales@a.test").declined()).as("an alias whose target she is").isTrue();
        assertThat(mailAs(alice, "bounce-123@a.test").declined()).as("postfix-regexp.cf").isTrue();
        assertThat(mailAs(alice, "").declined()).as("the null sender has no owner").isTrue();
        HookResult other = mailAs(alice, "ceo@b.test");
        assertThat(other.code() + " " + other.text())
                .isEqualTo("553 5.7.1 <ceo@b.test>: Sender address rejected: not owned by user Alice@A.test");
        assertThat(mailAs(alice, "anyone@c.test").code()).as("carol's catch-all").isEqualTo(553);
        SessionState carol = session(RelayListener.Mode.SMTPS, "192.0.2.9");
        carol.authenticated("carol@c.test", "LOGIN");
        assertThat(mailAs(carol, "anyone@c.test").declined()).isTrue();
        SessionState relay = session(RelayListener.Mode.RELAY, "127.0.0.1");
        assertThat(mailAs(relay, "ceo@b.test").declined()).as("the relay port checks nothing by default").isTrue();
    }

    @Test
    void spoofProtectionZeroAndPostfixRestrictions() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("logins"), "boss@a.test alice@a.test\n@a.test admin@a.test\n");
        RelayConfig off = new ConfigLoader(new Env(
                Map.of("SPOOF_PROTECTION", "0")), dir).load();
        SessionState s = new SessionState(RelayListener.Mode.SUBMISSION, off, InetAddress.getByName("192.0.2.9"), false);
        s.authenticated("alice@a.test", "PLAIN");
        assertThat(mailAs(s, "ceo@b.test").declined()).as("SPOOF_PROTECTION=0").isTrue();

        // reject_sender_login_mismatch on the relay port: an owned address needs its owner's login.
        SessionState r = session(RelayListener.Mode.RELAY, "127.0.0.1", "smtpd_sender_login_maps = texthash:/etc/postfix/logins",
                "smtpd_sender_restrictions = permit_mynetworks, reject_sender_login_mismatch");
        assertThat(mailAs(r, "boss@a.test").declined()).as("permit_mynetworks decides first").isTrue();
        SessionState outside = session(RelayListener.Mode.RELAY, "192.0.2.9", "smtpd_sender_login_maps = texthash:/etc/postfix/logins",
                "smtpd_sender_restrictions = permit_mynetworks, reject_sender_login_mismatch");
        HookResult notLoggedIn = mailAs(outside, "boss@a.test");
        assertThat(notLoggedIn.code() + " " + notLoggedIn.text()).isEqualTo("553 5.7.1 <boss@a.test>: Sender address rejected: not logged in");
        assertThat(mailAs(outside, "nobody@b.test").declined()).as("an address nobody owns").isTrue();
        outside.authenticated("admin@a.test", "PLAIN");
        assertThat(mailAs(outside, "boss@a.test").code()).as("the first table entry that knows the address decides").isEqualTo(553);
        assertThat(mailAs(outside, "x+tag@a.test").declined()).as("@domain after the extension is removed").isTrue();
    }

    @Test
    void mailParametersAndPaths() {
        assertThat(MailVerb.parameter("SIZE=100", 1000)).isNull();
        assertThat(MailVerb.parameter("SIZE=-1", 1000)).startsWith("501 5.5.4");
        assertThat(MailVerb.parameter("SIZE=+5", 1000)).startsWith("501 5.5.4");
        assertThat(MailVerb.parameter("SIZE=", 1000)).startsWith("501 5.5.4");
        assertThat(MailVerb.parameter("SIZE=1001", 1000)).startsWith("552 5.3.4");
        assertThat(MailVerb.parameter("SIZE=99999999999999999999", 0)).as("no limit: any size").isNull();
        assertThat(MailVerb.parameter("BODY=8BITMIME", 0)).isNull();
        assertThat(MailVerb.parameter("X=1", 0)).startsWith("555");

        MailPath quoted = MailPath.parse("FROM:<\"a b\"@c.test> SIZE=5", "FROM:");
        assertThat(quoted.address()).isEqualTo("\"a b\"@c.test");
        assertThat(quoted.parameters()).containsExactly("SIZE=5");
        assertThat(MailPath.plausible("\"a b\"@c.test")).isTrue();
        assertThat(MailPath.plausible("a b@c.test")).as("a space outside quotes").isFalse();
        assertThat(MailPath.plausible("\"a\u0000b\"@c.test")).isFalse();
        assertThat(MailPath.plausible("\"unterminated@c.test")).isFalse();
        assertThat(MailPath.mailbox("x@[192.0.2.1]")).isTrue();
        assertThat(MailPath.parse("TO:<\"a>b\"@c.test>", "TO:").address()).isEqualTo("\"a>b\"@c.test");
    }
}
