package org.relaymta.core.delivery;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Makes SMTP transactions for the queue manager; {@link SmtpDeliveryAgent} over Netty, a fake in unit tests. */
public interface DeliveryAgent {

    /** Runs one transaction on a delivery thread; one outcome per recipient, in the request's order. */
    List<DeliveryOutcome> deliver(DeliveryRequest request);

    /**
     * The same transaction on an idle cached session without a thread of its own, or null when none
     * fits. The future completes with null when the attempt did not end cleanly; the caller then runs
     * {@link #deliver}.
     */
    CompletableFuture<List<DeliveryOutcome>> deliverOnCachedSession(DeliveryRequest request);
}
