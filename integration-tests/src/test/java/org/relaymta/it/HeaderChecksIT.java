package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.QueuedMessage;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;

/** Postfix header_checks (when mail is accepted) and smtp_header_checks (on the way to the smarthost), end to end. */
class HeaderChecksIT {
    @TempDir
    Path temp;

    private static String message(String subject, String extraHeaders) {
        return "Received: from laptop.internal (laptop.internal [10.0.0.5]) by mx.internal; Wed, 2 Dec 2026 10:00:00 +0000\r\n"
                + "Received: from app.internal by laptop.internal; Wed, 2 Dec 2026 09:59:59 +0000\r\n"
                + "From: app@example.com\r\nTo: someone@example.org\r\nSubject: " + subject + "\r\n" + extraHeaders
                + "\r\nBody that mentions Received: in a line of its own\r\nReceived: this is body, not a header\r\n";
    }

    private static void await(Wiser upstream, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (upstream.getMessages().size() < count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(upstream.getMessages()).hasSize(count);
    }

    @Test
    void smtpHeaderChecksRemoveTheInternalReceivedLinesAndNothingElse() throws Exception {
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp)) {
            // As the README's recipe: the container path is found by its name in the config directory.
            Files.writeString(relay.configDir.resolve("smtp_header_checks"), "# drop our own trace lines\n/^Received:/ IGNORE\n");
            relay.mainCf("smtp_header_checks = regexp:/etc/postfix/smtp_header_checks")
                    .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
            try (SmtpTestClient c = relay.client()) {
                assertThat(c.send("app@example.com", "someone@example.org", message("trace", "X-Keep: me\r\n"))).startsWith("250");
            }
            await(upstream, 1);
            // Wiser puts its own Received: line on top as it receives; everything after it is what the relay sent.
            String received = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            String sent = received.substring(received.indexOf("From: app@example.com"));
            assertThat(received.substring(0, received.indexOf("From: app@example.com"))).contains("SubEthaSMTP")
                    .doesNotContain("laptop.internal");
            assertThat(sent).doesNotContain("laptop.internal").doesNotContain("by relay.test")
                    .startsWith("From: app@example.com\r\nTo: someone@example.org\r\nSubject: trace\r\nX-Keep: me\r\n\r\n")
                    .endsWith("Body that mentions Received: in a line of its own\r\nReceived: this is body, not a header\r\n");
            // The spool keeps the message as accepted: only what is sent changes. (The upstream has the
            // message a moment before the relay reads its 250 and removes it.)
            assertThat(relay.server.engine().queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
        } finally {
            upstream.stop();
        }
    }

    @Test
    void headerChecksRejectHoldDiscardReplaceAndPrependWhenMailIsAccepted() throws Exception {
        Wiser upstream = Wiser.port(RelayHarness.freePort());
        upstream.start();
        try (RelayHarness relay = new RelayHarness(temp)) {
            Files.writeString(relay.configDir.resolve("header_checks"), String.join("\n",
                    "/^Subject:.*forbidden/ REJECT Not from here",
                    "/^Subject:.*quarantine/ HOLD suspicious subject",
                    "/^Subject:.*drop me/ DISCARD",
                    "/^X-Internal: *(.*)/ REPLACE X-Was-Internal: $1",
                    "/^Subject:.*tag me/ PREPEND X-Tagged: yes",
                    "!/^(Received|From|To|Subject|X-[A-Za-z-]+):/ WARN unexpected header",
                    ""));
            relay.mainCf("header_checks = regexp:header_checks")
                    .env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getServer().getPortAllocated()).start();
            try (SmtpTestClient c = relay.client()) {
                assertThat(c.send("app@example.com", "someone@example.org", message("this is forbidden", "")))
                        .isEqualTo("550 5.7.1 Not from here");
                assertThat(c.send("app@example.com", "someone@example.org", message("please quarantine", ""))).startsWith("250");
                assertThat(c.send("app@example.com", "someone@example.org", message("drop me", ""))).startsWith("250");
                assertThat(c.send("app@example.com", "someone@example.org",
                        message("tag me", "X-Internal: build 42\r\n"))).startsWith("250");
            }
            await(upstream, 1);
            String sent = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(sent).contains("X-Tagged: yes\r\nSubject: tag me\r\n").contains("X-Was-Internal: build 42\r\n")
                    .doesNotContain("X-Internal:");

            // The delivered one leaves the queue a moment after the upstream has it.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> relay.server.engine().queue().size() == 1);
            List<QueuedMessage> queued = relay.server.engine().queue().messages();
            assertThat(queued).hasSize(1);
            assertThat(queued.get(0).state()).isEqualTo(QueueState.HOLD);
            // Held, not tried: nothing more reaches the upstream, the rejected and discarded ones never do.
            assertThat(relay.server.engine().queue().flush()).as("a flush starts no attempt of a held message").isZero();
            assertThat(upstream.getMessages()).hasSize(1);
            // Released, it goes.
            assertThat(relay.server.engine().queue().release("ALL").count()).isEqualTo(1);
            await(upstream, 2);
            assertThat(new String(upstream.getMessages().get(1).getData(), StandardCharsets.UTF_8)).contains("Subject: please quarantine");
        } finally {
            upstream.stop();
        }
    }

    @Test
    void aBadTableIsAClearErrorWithFileAndLine() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp)) {
            Files.writeString(relay.configDir.resolve("smtp_header_checks"), "/^Received:/ IGNORE\n/^Subject:/ REJECT no\n");
            relay.mainCf("smtp_header_checks = regexp:smtp_header_checks");
            org.assertj.core.api.Assertions.assertThatThrownBy(relay::start)
                    .hasMessageContaining("smtp_header_checks:2").hasMessageContaining("REJECT is not available here");
        }
    }
}
