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
 * @param weight    0 in a failover list (tried in order); 1 or more in a {@code balance} pool, where
 *                  hops take new mail in proportion to their weights
 */
public record NextHop(String host, int port, boolean mxLookup, String asWritten, int weight) {

    public NextHop(String host, int port, boolean mxLookup, String asWritten) {
        this(host, port, mxLookup, asWritten, 0);
    }

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

    /**
     * Parses a list of next hops separated by commas and/or whitespace: a failover list (Postfix 3.5+:
     * tried in order), or, when it starts with {@code balance}, a pool whose hops take new mail by
     * weighted round robin ({@code balance [a]:587 weight=3, [b]:587}: three of every four to a),
     * the others following as failover. A leading {@code failover} says the default.
     */
    public static List<NextHop> parseList(String text, String where) {
        List<NextHop> hops = new ArrayList<>();
        if (text == null) {
            return hops;
        }
        String[] parts = text.strip().split("[,\\s]+");
        int first = 0;
        boolean balance = false;
        if (parts.length > 0 && (parts[0].equalsIgnoreCase("balance") || parts[0].equalsIgnoreCase("failover"))) {
            balance = parts[0].equalsIgnoreCase("balance");
            first = 1;
        }
        for (int i = first; i < parts.length; i++) {
            String part = parts[i];
            if (part.isEmpty()) {
                continue;
            }
            if (part.regionMatches(true, 0, "weight=", 0, 7)) {
                if (!balance || hops.isEmpty()) {
                    throw new ConfigException(where, "'" + part + "': a weight belongs after a hop of a 'balance' list");
                }
                int w;
                try {
                    w = Integer.parseInt(part.substring(7));
                } catch (NumberFormatException e) {
                    w = -1;
                }
                if (w < 1 || w > 1000) {
                    throw new ConfigException(where, "'" + part + "': the weight must be a number from 1 to 1000");
                }
                NextHop last = hops.remove(hops.size() - 1);
                hops.add(new NextHop(last.host(), last.port(), last.mxLookup(), last.asWritten(), w));
                continue;
            }
            NextHop hop = parse(part, where);
            hops.add(balance ? new NextHop(hop.host(), hop.port(), hop.mxLookup(), hop.asWritten(), 1) : hop);
        }
        if (hops.isEmpty()) {
            throw new ConfigException(where, "empty next-hop destination");
        }
        return List.copyOf(hops);
    }

    /** Whether {@code hops} is a {@code balance} pool rather than a failover list. */
    public static boolean balanced(List<NextHop> hops) {
        return !hops.isEmpty() && hops.get(0).weight() > 0;
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
