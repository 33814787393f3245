package org.relaymta.core.internal.delivery;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * One server address to try: the host name it came from (MX or next-hop name), an IP address, and
 * whether every DNS answer that led here was DNSSEC-validated (the MX and the address), which DANE
 * needs before it trusts the server's TLSA records.
 */
public record Target(String hostName, InetAddress address, int port, boolean dnssec) {
    public Target(String hostName, InetAddress address, int port) {
        this(hostName, address, port, false);
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    /** Postfix's relay notation: {@code host[ip]:port}. */
    public String relay() {
        return hostName + "[" + address.getHostAddress() + "]:" + port;
    }
}
