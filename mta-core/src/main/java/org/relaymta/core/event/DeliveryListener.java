package org.relaymta.core.event;

/**
 * Receives delivery outcomes, in outbox order, on a thread of the relay's own ({@code mta-events*}),
 * off the delivery path: a slow listener delays only itself. A listener given with a name
 * ({@code RelayEngine.Builder.listener(name, listener)}) keeps its position in the spool and, after
 * a crash or restart, gets every event it had not been handed yet: at least once, so it may see an
 * event again (the same {@link DeliveryEvent#sequence()}). An unnamed listener gets the events from
 * its start on. An exception is logged and the next event follows.
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
