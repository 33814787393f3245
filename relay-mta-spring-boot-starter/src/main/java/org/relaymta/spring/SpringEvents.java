package org.relaymta.spring;

import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryListener;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Every delivery event, {@code received} included, as a Spring application event: an
 * {@code @EventListener void on(DeliveryEvent e)} method gets it, on the relay's event thread
 * (off the delivery path), from the moment the engine starts.
 */
final class SpringEvents implements DeliveryListener {
    private final ApplicationEventPublisher publisher;

    SpringEvents(ApplicationEventPublisher publisher) {
        this.publisher = publisher;
    }

    @Override
    public void onDelivery(DeliveryEvent event) {
        publisher.publishEvent(event);
    }

    @Override
    public boolean wants(DeliveryEvent.Status status) {
        return true;
    }
}
