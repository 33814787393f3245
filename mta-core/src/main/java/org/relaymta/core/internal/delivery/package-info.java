/**
 * Not API. The outbound SMTP client, in three rooms: the route (next hops, MX and addresses, failure
 * memory, relay health), the per-destination policy step (TLS requirements) and the session and
 * transaction on it; all asynchronous, on the event loops.
 */
package org.relaymta.core.internal.delivery;
