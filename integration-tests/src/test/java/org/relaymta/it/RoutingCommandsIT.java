package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands that say why mail goes where it goes, as processes: {@code mta route} from the
 * running relay's view (a reload the shell never saw included), {@code mta config check} naming each
 * entry that can never be used with its file and line, and {@code mta setup relay} for recipient domains.
 */
class RoutingCommandsIT {
    @TempDir
    Path temp;

    private MtaProcessIT.Result mta(Map<String, String> env, String... args) throws Exception {
        Process p = MtaProcessIT.mta(temp, env, args).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new MtaProcessIT.Result(p.exitValue(), out);
    }

    @Test
    void mtaRouteShowsTheRunningRelaysDecisionAfterAReloadTheShellNeverSaw() throws Exception {
        try (RelayHarness relay = new RelayHarness(temp.resolve("relay")).env("DEFAULT_RELAY_HOST", "[default.test]:587").start()) {
            Files.write(relay.configDir.resolve("postfix-transport.cf"), List.of("ext.test smtp:[reloaded.test]:2525"));
            await().atMost(Duration.ofSeconds(20)).until(() -> !relay.server.config().routing().transports().isEmpty());
            Path elsewhere = Files.createDirectories(temp.resolve("empty-config"));

            MtaProcessIT.Result running = mta(Map.of(), "route", "--spool-dir", relay.spoolDir.toString(), "--config-dir",
                    elsewhere.toString(), "a@one.test", "bob@ext.test");
            assertThat(running.exit()).isZero();
            assertThat(running.stdout()).contains("(from the running relay: its configuration in force)",
                    "decided by:  transport_maps, key ext.test (postfix-transport.cf:1)",
                    "step:      transport_maps: ext.test (postfix-transport.cf:1) decides: smtp to [reloaded.test]:2525",
                    "step:      sender relay map: not asked (the transport entry decided)",
                    "next hop:    [reloaded.test]:2525");

            MtaProcessIT.Result files = mta(Map.of(), "route", "--files", "--spool-dir", relay.spoolDir.toString(),
                    "--config-dir", elsewhere.toString(), "a@one.test", "bob@ext.test");
            assertThat(files.stdout()).contains("(from the files and variables here)", "no relay host configured");
        }
    }

    @Test
    void configCheckNamesEachEntryThatCanNeverBeUsedAndExitsNonZero() throws Exception {
        Path config = Files.createDirectories(temp.resolve("config"));
        Files.write(config.resolve("postfix-sasl-password.cf"), List.of("[smtp.provider.test]:587 user:pw",
                "[smtp.provider.test]:465 user:pw"));
        Files.write(config.resolve("postfix-relaymap.cf"), List.of("@boss.test"));
        Files.write(config.resolve("postfix-transport.cf"), List.of("* smtp:[everything.test]:25"));
        MtaProcessIT.Result check = mta(Map.of("DEFAULT_RELAY_HOST", "[smtp.provider.test]:587", "RELAY_HOST", "old.test"),
                "config", "check", "--config-dir", config.toString());
        assertThat(check.exit()).isEqualTo(1);
        assertThat(check.stdout()).contains(
                "warning: postfix-sasl-password.cf:2: credentials for [smtp.provider.test]:465 are never used",
                "warning: postfix-relaymap.cf:1: relay map entry @boss.test is never used: transport_maps *",
                "warning: DEFAULT_RELAY_HOST [smtp.provider.test]:587 is never used",
                "warning: postfix-relaymap.cf:1: @boss.test is excluded while DEFAULT_RELAY_HOST is set",
                "warning: RELAY_HOST and DEFAULT_RELAY_HOST are both set").doesNotContain("pw\n");

        MtaProcessIT.Result add = mta(Map.of(), "setup", "relay", "--config-dir", config.toString(), "add-recipient-domain",
                "blocked.test", "email-smtp.test", "587");
        assertThat(add.exit()).isZero();
        assertThat(Files.readAllLines(config.resolve("postfix-transport.cf")))
                .containsExactly("* smtp:[everything.test]:25", "blocked.test smtp:[email-smtp.test]:587");
        MtaProcessIT.Result list = mta(Map.of(), "setup", "relay", "--config-dir", config.toString(), "list");
        assertThat(list.stdout()).contains("blocked.test -> smtp to [email-smtp.test]:587   (postfix-transport.cf:2)");
        MtaProcessIT.Result remove = mta(Map.of(), "setup", "relay", "--config-dir", config.toString(),
                "remove-recipient-domain", "blocked.test");
        assertThat(remove.stdout()).contains("removed the transport entry for blocked.test");
        assertThat(Files.readAllLines(config.resolve("postfix-transport.cf"))).containsExactly("* smtp:[everything.test]:25");
    }
}
