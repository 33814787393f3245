package org.relaymta.core.internal.delivery;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * One server address to try: the host name it came from (MX or next-hop name) and an IP address.
 */
public record Target(String hostName, InetAddress address, int port) {
    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    /** Postfix's relay notation: {@code host[ip]:port}. */
    public String relay() {
        return hostName + "[" + address.getHostAddress() + "]:" + port;
    }
}
