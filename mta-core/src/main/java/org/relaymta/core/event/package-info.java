/**
 * Delivery events: one {@link org.relaymta.core.event.DeliveryEvent} per recipient outcome, recorded
 * in the spool's event outbox before the spool change it describes, and handed to each
 * {@link org.relaymta.core.event.DeliveryListener} on its own thread, at least once for a named one.
 */
package org.relaymta.core.event;
