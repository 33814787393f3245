package org.relaymta.core.internal.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.relaymta.core.event.DeliveryEvent;

class EventCodecTest {
    @Test
    void anEventIsOneLineAndReadsBackEqualEvenWithNewlinesAndQuotesInTheReason() {
        DeliveryEvent e = new DeliveryEvent("1A2B", "<1@one.test>", "", "bob@ext.test", DeliveryEvent.Status.DEFERRED,
                "ext.test", "mx.ext.test[192.0.2.7]:25", true, 451, "4.4.1", "host said \"no\"\r\nand more", "other", 2,
                new DeliveryEvent.Delays(0.01, 60, 0.5, 0.25), "TLSv1.3 TLS_AES_128_GCM_SHA256", "one.test", "relay.test",
                Instant.parse("2026-12-07T10:00:00.123Z"), Duration.ofSeconds(61), "1A2B: to=<bob@ext.test>", 42);
        String line = EventCodec.line(e);
        assertThat(line).endsWith("\n").doesNotContain("\r");
        assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
        assertThat(EventCodec.parse(line.strip())).contains(e);
    }

    @Test
    void aLineOfTheOutboxBeforeThePublishedFormStillReads() {
        String old = "{\"seq\":7,\"queue_id\":\"1A2B\",\"sender\":\"a@one.test\",\"recipient\":\"b@ext.test\",\"status\":\"sent\","
                + "\"relay\":\"mx[192.0.2.7]:25\",\"direct\":false,\"dsn\":\"2.0.0\",\"reason\":\"250 ok\",\"tls\":\"\","
                + "\"delay_ms\":1500,\"log\":\"1A2B: to=<b@ext.test>\"}";
        DeliveryEvent e = EventCodec.parse(old).orElseThrow();
        assertThat(e.status()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(e.sequence()).isEqualTo(7);
        assertThat(e.dsn()).isEqualTo("2.0.0");
        assertThat(e.reason()).isEqualTo("250 ok");
        assertThat(e.delay()).isEqualTo(Duration.ofMillis(1500));
        assertThat(e.logLine()).isEqualTo("1A2B: to=<b@ext.test>");
        assertThat(e.messageId()).isEmpty();
    }

    @Test
    void somethingElseIsNoEvent() {
        assertThat(EventCodec.parse("{\"seq\": 1}")).isEmpty();
        assertThat(EventCodec.parse("not json")).isEmpty();
    }
}
