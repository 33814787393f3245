package org.relaymta.core.internal.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.relaymta.config.internal.EventSettings;

/** The producer settings the event_kafka_* parameters make (the broker-facing part runs in KafkaSinkIT). */
class KafkaSinkTest {
    @Test
    void idempotentAllAcksAndNoExpiryWhateverTheSecurity() {
        Properties p = KafkaSink.properties(new EventSettings.Kafka("k1:9092", "t", "PLAINTEXT", "PLAIN", Optional.empty(),
                Optional.empty(), Optional.empty()));
        assertThat(p).containsEntry("acks", "all").containsEntry("enable.idempotence", "true")
                .containsEntry("delivery.timeout.ms", String.valueOf(Integer.MAX_VALUE)).containsEntry("security.protocol", "PLAINTEXT")
                .doesNotContainKey("sasl.jaas.config");
    }

    @Test
    void saslScramOverTlsWithAPemTrustAndQuotesInThePassword() {
        Properties p = KafkaSink.properties(new EventSettings.Kafka("k1:9093", "t", "SASL_SSL", "SCRAM-SHA-512",
                Optional.of("relay"), Optional.of(new EventSettings.Secret(Path.of("pw"), "p\"w\\d")),
                Optional.of(Path.of("/etc/ca.pem"))));
        assertThat(p).containsEntry("sasl.mechanism", "SCRAM-SHA-512").containsEntry("ssl.truststore.type", "PEM")
                .containsEntry("ssl.truststore.location", "/etc/ca.pem");
        assertThat(p.getProperty("sasl.jaas.config")).isEqualTo(
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"relay\" password=\"p\\\"w\\\\d\";");
    }
}
