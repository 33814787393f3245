package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Makes SMTP transactions for the queue manager; {@link SmtpDeliveryAgent} over Netty, a fake in unit tests. */
public interface DeliveryAgent {

    /**
     * Starts one delivery request without blocking the caller; the future completes with one
     * outcome per recipient, in the request's order.
     */
    CompletableFuture<List<DeliveryOutcome>> deliver(DeliveryRequest request);
}
