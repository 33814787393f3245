package org.relaymta.core.internal.delivery.sasl;

/**
 * The server being authenticated to, for mechanisms that name it (OAUTHBEARER sends host and port).
 *
 * @param host the server's host name as the next hop names it
 * @param port the TCP port
 */
public record SaslTarget(String host, int port) {
}
