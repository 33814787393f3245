package org.relaymta.examples.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryEvent.Status;
import org.relaymta.test.RelayMtaExtension;

/** One test per fault of the fake smarthost: what the application's mail meets when the smarthost misbehaves. */
class WelcomeMailerTest {

    @RegisterExtension
    RelayMtaExtension relay = new RelayMtaExtension();

    WelcomeMailer mailer() {
        return new WelcomeMailer(relay.mailSession());
    }

    @Test
    void aWelcomeMailArrives() throws Exception {
        mailer().welcome("alice@example.org");
        assertEquals("Welcome", relay.awaitDelivered(1).get(0).subject());
    }

    @Test
    void anUnknownRecipientBounces() throws Exception {
        relay.upstream().rejectRecipient("nobody@example.org", "550 5.1.1 no such user");
        mailer().welcome("nobody@example.org");
        DeliveryEvent bounce = relay.awaitEvent("nobody@example.org", Status.BOUNCED);
        assertEquals("5.1.1", bounce.dsn());
    }

    @Test
    void aMessageTheSmarthostRefusesBounces() throws Exception {
        relay.upstream().rejectMessages("554 5.7.1 looks like spam");
        mailer().welcome("alice@example.org");
        assertTrue(relay.awaitEvent("alice@example.org", Status.BOUNCED).reason().contains("looks like spam"));
    }

    @Test
    void aDeferralWaitsInTheQueueUntilTheSmarthostTakesIt() throws Exception {
        relay.upstream().deferAll("451 4.3.0 try again later");
        mailer().welcome("alice@example.org");
        assertEquals("4.3.0", relay.awaitEvent("alice@example.org", Status.DEFERRED).dsn());
        assertEquals(1, relay.engine().queue().size());

        relay.upstream().heal();
        relay.engine().queue().flush();
        assertEquals(1, relay.awaitDelivered(1).size());
    }

    @Test
    void aSlowSmarthostDoesNotSlowTheApplication() throws Exception {
        relay.upstream().stall(Duration.ofSeconds(3));
        mailer().welcome("alice@example.org");
        assertEquals(1, relay.engine().queue().size());    // send returned; the smarthost has not answered yet
        assertEquals(1, relay.awaitDelivered(1).size());
    }

    @Test
    void aConnectionDroppedAfterTheDataIsRetried() throws Exception {
        relay.upstream().dropAfterData();
        mailer().welcome("alice@example.org");
        assertTrue(relay.awaitEvent("alice@example.org", Status.DEFERRED).dsn().startsWith("4."));

        relay.upstream().heal();
        relay.engine().queue().flush();
        assertEquals(1, relay.awaitDelivered(1).size());
    }

    @Test
    void mailWaitsWhileTheSmarthostIsDown() throws Exception {
        relay.upstream().stop();
        mailer().welcome("alice@example.org");
        relay.awaitEvent("alice@example.org", Status.DEFERRED);

        relay.upstream().start();
        relay.engine().queue().flush();
        assertEquals(1, relay.awaitDelivered(1).size());
        assertTrue(relay.engine().queue().awaitEmpty(Duration.ofSeconds(10)));
    }
}
