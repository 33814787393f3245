package org.relaymta.core.internal.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.relaymta.core.event.DeliveryEvent;

class EventCodecTest {
    @Test
    void anEventIsOneLineAndReadsBackEqualEvenWithNewlinesAndQuotesInTheReason() {
        DeliveryEvent e = new DeliveryEvent("1A2B", "", "bob@ext.test", DeliveryEvent.Status.DEFERRED, "none", true, "4.4.1",
                "host said \"no\"\r\nand more", "TLSv1.3 TLS_AES_128_GCM_SHA256", Duration.ofSeconds(61), "1A2B: to=<bob@ext.test>", 42);
        String line = EventCodec.line(e);
        assertThat(line).endsWith("\n").doesNotContain("\r");
        assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
        assertThat(EventCodec.parse(line.strip())).contains(e);
    }

    @Test
    void somethingElseIsNoEvent() {
        assertThat(EventCodec.parse("{\"seq\": 1}")).isEmpty();
        assertThat(EventCodec.parse("not json")).isEmpty();
    }
}
