/**
 * Where delivery events go outside the process: {@link org.relaymta.core.internal.sink.WebhookSink}
 * (signed JSON batches over HTTPS) and {@link org.relaymta.core.internal.sink.KafkaSink}; {@link
 * org.relaymta.core.internal.sink.EventSinks} makes them from the configuration.
 */
package org.relaymta.core.internal.sink;
