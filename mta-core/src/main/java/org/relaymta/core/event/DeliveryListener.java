package org.relaymta.core.event;

/**
 * Receives every delivery outcome. Called on a delivery thread: return quickly (hand slow work to
 * an executor of your own).
 *
 * <pre>{@code
 * RelayEngine relay = RelayEngine.builder()
 *         .spoolDirectory(Path.of("data/spool"))
 *         .settings(settings)
 *         .listener(event -> {
 *             if (event.status() == DeliveryEvent.Status.BOUNCED) {
 *                 markAddressUndeliverable(event.recipient(), event.reason());
 *             }
 *         })
 *         .build().start();
 * }</pre>
 */
@FunctionalInterface
public interface DeliveryListener {
    void onDelivery(DeliveryEvent event);
}
