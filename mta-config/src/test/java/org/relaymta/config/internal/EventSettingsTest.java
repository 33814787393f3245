package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;

/** event_webhooks and the other event settings as an operator writes them in postfix-main.cf. */
class EventSettingsTest {
    @TempDir
    Path dir;

    private RelayConfig load(String... mainCf) throws Exception {
        Files.write(dir.resolve("postfix-main.cf"), List.of(mainCf));
        return new ConfigLoader(new Env(Map.of()), dir).load();
    }

    @Test
    void webhooksWithFiltersAndASecret() throws Exception {
        Files.writeString(dir.resolve("hook.key"), "k3y\n");
        EventSettings e = load("event_webhooks = https://hooks.example.com/relay?token=abc events=delivered,bounced "
                + "http://127.0.0.1:8080/all", "event_webhook_secret_file = hook.key", "suppress_hard_bounces = yes",
                "suppression_classes = invalid-recipient, spam-block", "suppression_lifetime = 30d").events();
        assertThat(e.webhooks()).hasSize(2);
        assertThat(e.webhooks().get(0).events()).isEqualTo(Set.of("delivered", "bounced"));
        assertThat(e.webhooks().get(0).wants("deferred")).isFalse();
        assertThat(e.webhooks().get(1).wants("deferred")).isTrue();
        assertThat(e.webhooks().get(0).safeText()).isEqualTo("https://hooks.example.com/relay?...");
        assertThat(e.webhookSecret().orElseThrow().value()).isEqualTo("k3y");
        assertThat(e.toString()).doesNotContain("k3y", "token=abc");
        assertThat(e.suppressHardBounces()).isTrue();
        assertThat(e.suppressionClasses()).containsExactlyInAnyOrder("invalid-recipient", "spam-block");
        assertThat(e.suppressionLifetime()).isEqualTo(Duration.ofDays(30));
        assertThat(e.queueLimit()).isEqualTo(1L << 30);
    }

    @Test
    void mistakesAreRefusedWithTheFileAndLine() {
        assertThatThrownBy(() -> load("myhostname = r.test", "event_webhooks = http://hooks.example.com/x"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("postfix-main.cf:2")
                .hasMessageContaining("in the clear");
        assertThatThrownBy(() -> load("event_webhooks = https://h.example/x events=delivred"))
                .hasMessageContaining("unknown event 'delivred'");
        assertThatThrownBy(() -> load("event_webhooks = events=delivered https://h.example/x"))
                .hasMessageContaining("before any URL");
        assertThatThrownBy(() -> load("event_webhooks = https://h.example/x"))
                .hasMessageContaining("event_webhook_secret_file is not");
        assertThatThrownBy(() -> load("event_webhooks = ftp://h.example/x")).hasMessageContaining("not an https:// URL");
        assertThatThrownBy(() -> load("event_webhooks = https://u:pw@h.example/x")).hasMessageContaining("user information")
                .satisfies(t -> assertThat(t.getMessage()).doesNotContain("pw"));
        assertThatThrownBy(() -> load("event_webhook_secret_file = missing.key")).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> load("event_kafka_bootstrap = broker", "event_kafka_topic = t"))
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> load("event_kafka_bootstrap = broker:9092", "event_kafka_security_protocol = sasl_ssl"))
                .hasMessageContaining("needs event_kafka_username");
    }

    @Test
    void theEventNamesAreThoseOfTheSchema() throws Exception {
        String schema = Files.readString(Path.of("../docs/event-schema.json"));
        for (String name : EventSettings.EVENT_NAMES) {
            assertThat(schema).contains("\"" + name + "\"");
        }
    }
}
