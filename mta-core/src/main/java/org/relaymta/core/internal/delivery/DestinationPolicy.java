package org.relaymta.core.internal.delivery;

import java.util.concurrent.CompletableFuture;
import org.relaymta.config.internal.NextHop;

/**
 * The per-destination policy step of delivery, between the route (which servers) and the session
 * (how to talk to one): turns the route, the next hop and the server into the session's
 * {@link TlsRequirements}, under the configuration in force for the request. Asynchronous, because a policy may need DNS (DANE's TLSA records) or
 * HTTPS (an MTA-STS policy) before it can answer; a failed future defers the mail.
 */
interface DestinationPolicy {
    CompletableFuture<TlsRequirements> tls(DeliveryRequest request, NextHop hop, Target target);
}
