package org.relaymta.core.event;

/**
 * Receives delivery outcomes, in outbox order, on a thread of the relay's own ({@code mta-events*}),
 * off the delivery path: a slow listener delays only itself. A listener given with a name
 * ({@code RelayEngine.Builder.listener(name, listener)}) keeps its position in the spool and, after
 * a crash or restart, gets every event it had not been handed yet: at least once, so it may see an
 * event again (the same {@link DeliveryEvent#sequence()}). An unnamed listener gets the events from
 * its start on. An exception is logged and the next event follows. A listener is handed what
 * became of each recipient; the {@code received} events (a message accepted) only when {@link
 * #wants} says so, as webhooks and Kafka get every event.
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

    /** Whether this listener is handed events of {@code status}: all but {@code RECEIVED} unless overridden. */
    default boolean wants(DeliveryEvent.Status status) {
        return status != DeliveryEvent.Status.RECEIVED;
    }
}
