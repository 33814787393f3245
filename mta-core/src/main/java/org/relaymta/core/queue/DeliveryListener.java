package org.relaymta.core.queue;

/** Receives every delivery outcome. Called on a delivery thread: return quickly. */
@FunctionalInterface
public interface DeliveryListener {
    void onDelivery(DeliveryEvent event);
}
