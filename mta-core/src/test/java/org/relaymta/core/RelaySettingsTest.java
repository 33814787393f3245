package org.relaymta.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.RelayConfig;

/** Settings as Java values and a config directory go through the same table and rules, so they agree. */
class RelaySettingsTest {
    @TempDir
    Path dir;

    @Test
    void settingsAndFilesGiveTheSameSnapshot() {
        RelayConfig fromFiles = new ConfigLoader(new Env(Map.of("DEFAULT_RELAY_HOST", "[smtp.a.test]:587, [smtp.b.test]:587",
                "RELAY_USER", "u", "RELAY_PASSWORD", "p")), dir).load();
        RelayConfig fromJava = RelaySettings.defaults().defaultRelayHost("[smtp.a.test]:587, [smtp.b.test]:587")
                .credentials("u", "p").build();
        assertThat(fromFiles.delivery().smtp()).isEqualTo(SmtpClientSettings.postfixDefaults()).isEqualTo(fromJava.delivery().smtp());
        assertThat(fromFiles.queue()).isEqualTo(fromJava.queue());
        assertThat(fromFiles.delivery().relayFailureThreshold()).isEqualTo(fromJava.delivery().relayFailureThreshold()).isEqualTo(3);
        assertThat(fromFiles.content().messageSizeLimit()).isEqualTo(fromJava.content().messageSizeLimit());
        // The derived rules are one piece of code: credentials under each failover hop, TLS encrypt with credentials.
        assertThat(fromFiles.routing().credentials().keySet()).isEqualTo(fromJava.routing().credentials().keySet())
                .contains("[smtp.a.test]:587", "[smtp.b.test]:587");
        assertThat(fromFiles.routing().tlsLevel()).isEqualTo(fromJava.routing().tlsLevel()).isEqualTo(TlsLevel.ENCRYPT);
        assertThat(fromFiles.listener().timeout(true)).isEqualTo(fromJava.listener().timeout(true));
        assertThat(fromFiles.listener().mynetworks().toString()).isEqualTo(fromJava.listener().mynetworks().toString());
    }
}
