package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Credentials;

/**
 * The opening of a session on an {@link EmbeddedChannel}: what the relay sends for each reply,
 * how each way of failing is worded and whether it defers, and what the TLS level demands.
 */
class SessionOpenerTest {
    private static final Credentials PASSWORD = new Credentials("user", "pa55word", "[relay.test]:25");

    private final EmbeddedSmtp smtp = new EmbeddedSmtp();

    private CompletableFuture<SessionOpener.Opened> open(TlsRequirements tls, Optional<Credentials> credentials) {
        SessionOpener opener = new SessionOpener(smtp.target, new SessionPolicy(tls, false, credentials), null, "relay.test",
                "relay.local", smtp.cfg.delivery().smtp(), "TESTID", false);
        return opener.open(CompletableFuture.completedFuture(smtp.conn));
    }

    private static TlsRequirements level(TlsLevel level) {
        return TlsRequirements.of(level, PeerCheck.none(), level != TlsLevel.MAY, "test");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void encryptDefersWhenTheServerDoesNotOfferStartTls() {
        CompletableFuture<SessionOpener.Opened> opening = open(level(TlsLevel.ENCRYPT), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250 AUTH PLAIN\r\n")).as("no AUTH in plain text under encrypt").isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.session()).isNull();
        assertThat(opened.established()).isTrue();
        assertThat(opened.failure().dsn()).isEqualTo("4.7.4");
        assertThat(opened.failure().reason()).isEqualTo("TLS is required, but was not offered by host relay.test[192.0.2.1]");
        assertThat(opened.failure().relay()).isEqualTo("relay.test[192.0.2.1]:25");
        assertThat(smtp.channel.isOpen()).isFalse();
    }

    @Test
    void mayGoesOnInPlainTextWhenStartTlsIsNotOffered() {
        CompletableFuture<SessionOpener.Opened> opening = open(level(TlsLevel.MAY), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250 AUTH PLAIN LOGIN\r\n")).isEqualTo("AUTH PLAIN " + b64("\0user\0pa55word") + "\r\n");
        assertThat(smtp.reply("235 2.7.0 ok\r\n")).isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure()).isNull();
        assertThat(opened.session().tls()).isEmpty();
        assertThat(opened.session().capabilities().authMechanisms()).containsExactly("PLAIN", "LOGIN");
    }

    @Test
    void aRefusedStartTlsDefersUnderEncryptWithTheServersReply() {
        CompletableFuture<SessionOpener.Opened> opening = open(level(TlsLevel.ENCRYPT), Optional.empty());
        smtp.reply("220 relay.test ESMTP\r\n");
        assertThat(smtp.reply("250-relay.test\r\n250 STARTTLS\r\n")).isEqualTo("STARTTLS\r\n");

        assertThat(smtp.reply("554 5.7.3 TLS not available due to local problem\r\n")).isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).as("a 5xx to STARTTLS defers: another try may find TLS").isEqualTo("4.7.3");
        assertThat(opened.failure().reason()).isEqualTo("TLS is required, but host relay.test[192.0.2.1] refused to start TLS: "
                + "554 5.7.3 TLS not available due to local problem");
        assertThat(smtp.channel.isOpen()).isFalse();
    }

    @Test
    void aRefusedStartTlsUnderMayGoesOnWithThePlainCapabilities() {
        CompletableFuture<SessionOpener.Opened> opening = open(level(TlsLevel.MAY), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");
        assertThat(smtp.reply("250-relay.test\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n")).isEqualTo("STARTTLS\r\n");

        assertThat(smtp.reply("454 4.7.0 TLS not available\r\n")).as("no second EHLO: AUTH at once").isEqualTo("AUTH LOGIN\r\n");
        assertThat(smtp.reply("334 VXNlcm5hbWU6\r\n")).isEqualTo(b64("user") + "\r\n");
        assertThat(smtp.reply("334 UGFzc3dvcmQ6\r\n")).isEqualTo(b64("pa55word") + "\r\n");
        smtp.reply("235 2.7.0 Authentication successful\r\n");

        assertThat(opening.join().session()).isNotNull();
    }

    @Test
    void levelNoneNeverAsksForStartTls() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.empty());
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n")).isEmpty();

        OpenSession session = opening.join().session();
        assertThat(session.capabilities().has("PIPELINING")).isTrue();
        assertThat(session.capabilities().has("STARTTLS")).isTrue();
    }

    @Test
    void credentialsWithoutAuthOfferedSendWithoutAuthentication() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250 8BITMIME\r\n")).isEmpty();

        assertThat(opening.join().session()).isNotNull();
    }

    @Test
    void noCompatibleMechanismDefersAndNamesWhatWasOffered() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250 AUTH GSSAPI ANONYMOUS\r\n")).as("never anonymous").isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).isEqualTo("4.7.0");
        assertThat(opened.failure().reason()).isEqualTo("SASL authentication failed: server relay.test[192.0.2.1] offered no "
                + "compatible authentication mechanism (offered: GSSAPI ANONYMOUS)");
    }

    @Test
    void anOAuth2TokenIsNeverSentInPlainText() {
        Credentials oauth2 = new Credentials("sender@tenant.test", Credentials.OAUTH2_PREFIX + "m365", "[relay.test]:25");
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.of(oauth2));
        smtp.reply("220 relay.test ESMTP\r\n");

        assertThat(smtp.reply("250-relay.test\r\n250 AUTH XOAUTH2 PLAIN\r\n")).isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).isEqualTo("4.7.0");
        assertThat(opened.failure().reason()).contains("OAuth2 needs TLS").contains("is not encrypted");
    }

    @Test
    void aServerThatKeepsChallengingIsNotFollowedForever() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.of(PASSWORD));
        smtp.reply("220 relay.test ESMTP\r\n");
        smtp.reply("250-relay.test\r\n250 AUTH PLAIN\r\n");

        for (int round = 0; round < 5; round++) {
            assertThat(smtp.reply("334 \r\n")).as("round %d", round).isEqualTo(b64("\0user\0pa55word") + "\r\n");
        }
        assertThat(smtp.reply("334 \r\n")).isEqualTo("QUIT\r\n");

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.session()).isNull();
        assertThat(opened.failure().dsn()).startsWith("4.");
        assertThat(opened.failure().reason()).startsWith("SASL authentication failed; server relay.test[192.0.2.1] said: 334")
                .doesNotContain("pa55word").doesNotContain(b64("\0user\0pa55word"));
    }

    @Test
    void aServerRefusingEhloAndHeloIsReportedWithTheEhloReply() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.empty());
        smtp.reply("220 relay.test ESMTP\r\n");
        assertThat(smtp.reply("550 5.7.1 go away\r\n")).isEqualTo("HELO relay.local\r\n");

        smtp.reply("550 5.7.1 still no\r\n");

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).isEqualTo("5.7.1");
        assertThat(opened.failure().reason()).isEqualTo("host relay.test[192.0.2.1] refused to talk to me: 550 5.7.1 go away");
        assertThat(opened.established()).isTrue();
    }

    @Test
    void aPermanentGreetingRefusalStillDefers() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.empty());

        assertThat(smtp.reply("554 5.7.1 no service for you\r\n")).isEmpty();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).as("another server or a later try may talk to us").isEqualTo("4.7.1");
        assertThat(opened.established()).isFalse();
    }

    @Test
    void aSilentServerTimesOutAfterTheHeloTimeout() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.empty());

        smtp.advance(299);
        assertThat(opening).isNotDone();
        smtp.advance(2);

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).isEqualTo("4.4.2");
        assertThat(opened.failure().reason())
                .isEqualTo("conversation with relay.test[192.0.2.1]:25 timed out while receiving the initial server greeting");
        assertThat(smtp.channel.isOpen()).isFalse();
    }

    @Test
    void aServerHangingUpAfterEhloIsALostConnection() {
        CompletableFuture<SessionOpener.Opened> opening = open(TlsRequirements.none("test"), Optional.empty());
        smtp.reply("220 relay.test ESMTP\r\n");

        smtp.hangUp();

        SessionOpener.Opened opened = opening.join();
        assertThat(opened.failure().dsn()).isEqualTo("4.4.2");
        assertThat(opened.failure().reason())
                .isEqualTo("lost connection with relay.test[192.0.2.1]:25 while receiving the reply to EHLO command");
    }

    @Test
    void aRefusedConnectionNamesNoRelay() {
        SessionOpener opener = new SessionOpener(smtp.target, new SessionPolicy(TlsRequirements.none("test"), false,
                Optional.empty()), null, "relay.test", "relay.local", smtp.cfg.delivery().smtp(), "TESTID", false);

        SessionOpener.Opened opened = opener.open(CompletableFuture.failedFuture(new ConnectException("Connection refused")))
                .join();

        assertThat(opened.failure().dsn()).isEqualTo("4.4.1");
        assertThat(opened.failure().relay()).isEqualTo("none");
        assertThat(opened.failure().session()).isTrue();
        assertThat(opened.failure().reason()).contains("connect to relay.test[192.0.2.1]:25").contains("Connection refused");
        assertThat(opened.established()).isFalse();
    }
}
