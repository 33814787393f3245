package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/**
 * The migration checklist of docs/migration-docker-mailserver.md against Debian's real Postfix,
 * configured as docker-mailserver's relay.sh leaves it. With the checklist applied (RELAY_HOST and its
 * sender map removed, DEFAULT_RELAY_HOST pointing at this relay), mail of a local sender domain and
 * foreign mail both pass through the relay to the smarthost. Without it (RELAY_HOST kept), the local
 * domain's mail goes around the relay, straight to the smarthost: what the checklist prevents.
 */
class DockerMailserverMigrationIT {
    private static final Path POSTFIX = Path.of("/usr/sbin/postfix");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path temp;

    private static void assumePostfix() {
        assumeTrue(Files.isExecutable(POSTFIX), "Debian's postfix is needed; .ci/run installs it");
        assumeTrue("root".equals(System.getProperty("user.name")), "a private Postfix instance needs root");
    }

    private static String data(WiserMessage m) {
        return new String(m.getData(), StandardCharsets.UTF_8);
    }

    @Test
    void withTheChecklistAppliedLocalAndForeignMailBothPassThroughTheRelay() throws Exception {
        assumePostfix();
        int smarthostPort = RelayHarness.freePort();
        Wiser smarthost = Wiser.port(smarthostPort);
        smarthost.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + smarthostPort)
                .start();
             PrivatePostfix dms = new PrivatePostfix(temp, temp.resolve("dms"), RelayHarness.freePort(), relay.port(), null)) {
            dms.send("alice@local.test", "bob@ext.test");
            dms.send("newsletter@foreign.test", "carol@ext.test");
            await().atMost(WAIT).until(() -> smarthost.getMessages().size() == 2);
            for (WiserMessage m : smarthost.getMessages()) {
                assertThat(data(m)).as("passed through the relay").contains("by relay.test");
            }
            assertThat(smarthost.getMessages()).extracting(WiserMessage::getEnvelopeSender)
                    .containsExactlyInAnyOrder("alice@local.test", "newsletter@foreign.test");
        } finally {
            smarthost.stop();
        }
    }

    @Test
    void keepingRelayHostOnTheDockerMailserverSideSendsLocalMailAroundTheRelay() throws Exception {
        assumePostfix();
        int smarthostPort = RelayHarness.freePort();
        Wiser smarthost = Wiser.port(smarthostPort);
        smarthost.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + smarthostPort)
                .start();
             PrivatePostfix dms = new PrivatePostfix(temp, temp.resolve("dms"), RelayHarness.freePort(), relay.port(),
                     "@local.test [127.0.0.1]:" + smarthostPort)) {
            dms.send("alice@local.test", "bob@ext.test");
            dms.send("newsletter@foreign.test", "carol@ext.test");
            await().atMost(WAIT).until(() -> smarthost.getMessages().size() == 2);
            for (WiserMessage m : smarthost.getMessages()) {
                boolean viaRelay = data(m).contains("by relay.test");
                assertThat(viaRelay).as(m.getEnvelopeSender()).isEqualTo(m.getEnvelopeSender().endsWith("@foreign.test"));
            }
        } finally {
            smarthost.stop();
        }
    }
}
