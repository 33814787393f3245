package org.relaymta.core.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.relaymta.config.QueueSettings;

class DeliveryLogFormatTest {

    @Test
    void postfixLineShape() {
        String line = DeliveryLogFormat.line("1A2B", "bob@ext.test", "mx.test[192.0.2.1]:25", 1.234, 0.001, 0.02,
                0.5, 0.714, "2.0.0", "sent", "250 2.0.0 Ok: queued as X");
        assertThat(line).isEqualTo("1A2B: to=<bob@ext.test>, relay=mx.test[192.0.2.1]:25, delay=1.2, "
                + "delays=0/0.02/0.5/0.71, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)");
        assertThat(DeliveryLogFormat.seconds(123.4)).isEqualTo("123");
    }

    @Test
    void backoffIsMessageAgeClampedToPostfixBounds() {
        QueueSettings q = QueueSettings.postfixDefaults();
        assertThat(q.backoffFor(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(300));
        assertThat(q.backoffFor(Duration.ofSeconds(1000))).isEqualTo(Duration.ofSeconds(1000));
        assertThat(q.backoffFor(Duration.ofDays(1))).isEqualTo(Duration.ofSeconds(4000));
    }
}
