package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.relaymta.config.ConfigException;

/**
 * One next-hop destination in Postfix syntax: {@code [host]:port}, {@code [host]}, {@code host:port},
 * {@code host}, {@code [1.2.3.4]:587}, {@code [::1]:25}. Brackets mean "no MX lookup".
 *
 * @param host      the host name or IP literal, without brackets
 * @param port      the TCP port (25 unless given)
 * @param mxLookup  true when the host was written without brackets: look up its MX records first
 * @param asWritten the next-hop string exactly as configured (credentials may be keyed to it)
 */
public record NextHop(String host, int port, boolean mxLookup, String asWritten) {

    public static final int DEFAULT_PORT = 25;

    /** Parses one next hop; {@code where} names the input for the error message. */
    public static NextHop parse(String text, String where) {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty()) {
            throw new ConfigException(where, "empty next-hop destination");
        }
        String host;
        String portText = null;
        boolean bracketed = s.startsWith("[");
        if (bracketed) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw new ConfigException(where, "next hop '" + s + "' has '[' without ']'");
            }
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (host.startsWith("[") || rest.startsWith("]")) {
                throw new ConfigException(where, "next hop '" + s + "' has doubled brackets");
            }
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new ConfigException(where, "next hop '" + s + "': expected ':port' after ']'");
                }
                portText = rest.substring(1);
            }
        } else {
            if (s.contains("]")) {
                throw new ConfigException(where, "next hop '" + s + "' has ']' without '['");
            }
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') != colon) {
                throw new ConfigException(where, "next hop '" + s + "': an IPv6 address must be written in brackets, as [" + s + "]");
            }
            if (colon >= 0) {
                host = s.substring(0, colon);
                portText = s.substring(colon + 1);
            } else {
                host = s;
            }
        }
        if (host.isEmpty()) {
            throw new ConfigException(where, "next hop '" + s + "' has no host name");
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (Character.isWhitespace(c) || c == '[' || c == ']' || c == '@' || c == ',') {
                throw new ConfigException(where, "next hop '" + s + "': invalid character '" + c + "' in host name");
            }
        }
        int port = DEFAULT_PORT;
        if (portText != null) {
            port = parsePort(portText, where, s);
        }
        return new NextHop(host.toLowerCase(Locale.ROOT), port, !bracketed, s);
    }

    /** Parses a list of next hops separated by commas and/or whitespace (Postfix 3.5+ failover). */
    public static List<NextHop> parseList(String text, String where) {
        List<NextHop> hops = new ArrayList<>();
        if (text == null) {
            return hops;
        }
        for (String part : text.split("[,\\s]+")) {
            if (!part.isEmpty()) {
                hops.add(parse(part, where));
            }
        }
        if (hops.isEmpty()) {
            throw new ConfigException(where, "empty next-hop destination");
        }
        return List.copyOf(hops);
    }

    static int parsePort(String portText, String where, String whole) {
        try {
            int port = Integer.parseInt(portText);
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new ConfigException(where, "next hop '" + whole + "': port '" + portText + "' is not a number from 1 to 65535");
        }
    }

    /**
     * The next hop of direct delivery to a recipient domain: its MX (port {@code port}), or, for an
     * address literal ({@code user@[192.0.2.1]}, {@code user@[IPv6:2001:db8::1]}), that address
     * itself, as Postfix delivers it.
     */
    public static NextHop direct(String domain, int port) {
        if (domain.startsWith("[") && domain.endsWith("]") && domain.length() > 2) {
            String inside = domain.substring(1, domain.length() - 1);
            String ip = inside.regionMatches(true, 0, "IPv6:", 0, 5) ? inside.substring(5) : inside;
            if (Mailbox.ipv4(ip) || (ip.indexOf(':') >= 0 && Mailbox.ipv6(ip))) {
                return new NextHop(ip, port, false, domain);
            }
        }
        return new NextHop(domain, port, true, domain);
    }

    /** True when the host is an IPv4 or IPv6 literal rather than a DNS name. */
    public boolean isIpLiteral() {
        return isIpLiteral(host);
    }

    static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true;
        }
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    @Override
    public String toString() {
        return asWritten;
    }
}
