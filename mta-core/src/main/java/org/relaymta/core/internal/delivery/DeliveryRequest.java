package org.relaymta.core.internal.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.Route;

/**
 * One SMTP transaction to make: a message's content, sender and the recipients that share a route.
 *
 * @param queueId    for logging
 * @param sender     envelope sender; empty for {@code <>}
 * @param recipients recipients with this route (at most the destination recipient limit)
 * @param size       content size in bytes
 * @param eightBit   content has bytes above 127 (BODY=8BITMIME needed)
 * @param content    opens the CRLF-canonical content; called once per session that reaches DATA
 * @param route      where and how to deliver
 * @param config     the configuration snapshot the route was made with (timeouts, host name)
 */
public record DeliveryRequest(String queueId, String sender, List<String> recipients, long size, boolean eightBit,
                              Content content,
                              Route route, RelayConfig config) {

    /** Opens a fresh stream of the message content. */
    @FunctionalInterface
    public interface Content {
        InputStream open() throws IOException;
    }
}
