package org.relaymta.examples.mail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.test.CapturedMessage;
import org.relaymta.test.RelayMtaExtension;

/** How an application tests its mail code with the test kit: a real relay, a capturing smarthost. */
class OrderMailerTest {

    @RegisterExtension
    RelayMtaExtension relay = new RelayMtaExtension();

    @Test
    void confirmationsReachTheSmarthost() throws Exception {
        OrderMailer mailer = new OrderMailer(relay.mailSession());
        mailer.confirm("alice@example.org", 42);
        mailer.confirm("bob@example.org", 43);

        List<CapturedMessage> received = relay.awaitDelivered(2);
        assertEquals(List.of("alice@example.org", "bob@example.org"),
                received.stream().map(CapturedMessage::recipient).sorted().toList());
        CapturedMessage alice = received.stream().filter(m -> m.recipient().equals("alice@example.org")).findFirst().orElseThrow();
        assertEquals("Order 42 confirmed", alice.subject());
        assertEquals("orders@shop.example", alice.sender());
        assertTrue(relay.engine().queue().awaitEmpty(Duration.ofSeconds(10)));
        assertTrue(relay.events().stream().allMatch(e -> e.status() == DeliveryEvent.Status.SENT));
    }

    @Test
    void eachTestGetsAFreshRelayAndUpstream() throws Exception {
        assertEquals(0, relay.upstream().messages().size());
        assertEquals(0, relay.engine().queue().size());
    }
}
