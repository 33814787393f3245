package org.relaymta.core.internal.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRecordDecoder;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.HostsFileEntriesResolver;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.relaymta.config.internal.NextHop;

/**
 * MX and address lookups with Netty's DNS resolver: servers from {@code /etc/resolv.conf} by
 * default, or an explicit list. Tells NXDOMAIN (final) from a timeout or SERVFAIL (try later), and
 * honours null MX (RFC 7505). Names are checked as Postfix checks them: a destination that is no
 * host name is refused before any query (internationalised names are looked up as their A-labels),
 * and an MX host name from an answer that is not one is skipped and logged escaped, because whoever
 * runs a recipient's DNS writes those names.
 */
public final class DnsHostResolver implements HostResolver {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("org.relaymta.delivery");
    /** Postfix smtp_mx_address_limit. */
    static final int ADDRESS_LIMIT = 5;
    private static final long QUERY_TIMEOUT_MS = 5000;

    private final DnsNameResolver resolver;

    public DnsHostResolver(EventLoopGroup group, List<InetSocketAddress> servers) {
        DnsServerAddressStreamProvider provider = servers.isEmpty()
                ? DnsServerAddressStreamProviders.platformDefault()
                : new SequentialDnsServerAddressStreamProvider(servers.toArray(new InetSocketAddress[0]));
        this.resolver = new DnsNameResolverBuilder(group.next())
                .datagramChannelType(NioDatagramChannel.class)
                .socketChannelType(NioSocketChannel.class)
                .nameServerProvider(provider)
                .queryTimeoutMillis(QUERY_TIMEOUT_MS)
                .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED)
                .build();
    }

    @Override
    public List<Target> resolve(NextHop hop) throws ResolveException {
        if (hop.isIpLiteral()) {
            try {
                return List.of(new Target(hop.host(), InetAddress.getByName(hop.host()), hop.port()));
            } catch (UnknownHostException e) {
                throw new ResolveException("5.4.4", "bad IP address literal " + hop.host());
            }
        }
        String name = lookupName(hop.host());
        if (!hop.mxLookup()) {
            return limit(addresses(name, hop.port(), true));
        }
        if (HostsFileEntriesResolver.DEFAULT.address(name, ResolvedAddressTypes.IPV4_PREFERRED) != null) {
            // A name from /etc/hosts (localhost, a container link) has no MX to ask DNS about.
            return limit(addresses(name, hop.port(), true));
        }
        List<Mx> mxs = lookupMx(name);
        if (mxs == null) {
            // No MX records: the domain's own addresses are its implicit MX (RFC 5321 5.1).
            return limit(addresses(name, hop.port(), true));
        }
        if (mxs.size() == 1 && mxs.get(0).host().isEmpty()) {
            throw new ResolveException("5.1.10", "Host or domain name not found. Domain " + name
                    + " does not accept mail (nullMX)");
        }
        List<Target> targets = new ArrayList<>();
        ResolveException lastError = null;
        for (Mx mx : mxs) {
            try {
                targets.addAll(addresses(mx.host(), hop.port(), false));
            } catch (ResolveException e) {
                lastError = e;
            }
            if (targets.size() >= ADDRESS_LIMIT) {
                break;
            }
        }
        if (targets.isEmpty()) {
            throw lastError != null && !lastError.permanent() ? lastError
                    : new ResolveException("5.4.4", "Host or domain name not found. No address for any MX host of " + hop.host());
        }
        return limit(targets);
    }

    /**
     * The name to ask DNS about: an internationalised name as its A-labels; a name that is no host
     * name at all (it came from a recipient address) is refused for good, without a query.
     */
    static String lookupName(String host) throws ResolveException {
        String ascii = host;
        try {
            if (!host.chars().allMatch(c -> c < 0x80)) {
                ascii = java.net.IDN.toASCII(host, java.net.IDN.ALLOW_UNASSIGNED);
            }
        } catch (IllegalArgumentException e) {
            ascii = null;
        }
        java.util.Optional<String> problem = ascii == null ? java.util.Optional.of("not a valid internationalised name")
                : org.relaymta.config.internal.Hostnames.problem(ascii);
        if (problem.isPresent()) {
            throw new ResolveException("5.1.2", "Host or domain name not found. Malformed domain name "
                    + org.relaymta.config.internal.LogText.escape(host) + ": " + problem.get());
        }
        return ascii.toLowerCase(Locale.ROOT);
    }

    private static List<Target> limit(List<Target> targets) {
        return targets.size() > ADDRESS_LIMIT ? List.copyOf(targets.subList(0, ADDRESS_LIMIT)) : targets;
    }

    private record Mx(int preference, String host) {
    }

    /** MX hosts in preference order with equal preferences shuffled; null when the name has no MX records. */
    private List<Mx> lookupMx(String domain) throws ResolveException {
        AddressedEnvelope<DnsResponse, InetSocketAddress> envelope;
        try {
            envelope = resolver.query(new DefaultDnsQuestion(domain, DnsRecordType.MX))
                    .get(QUERY_TIMEOUT_MS * 3, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw temporary(domain, "MX", "interrupted");
        } catch (ExecutionException | TimeoutException e) {
            throw temporary(domain, "MX", e.getCause() == null ? "timeout" : SmtpConnection.describe(e.getCause()));
        }
        try {
            DnsResponse response = envelope.content();
            DnsResponseCode code = response.code();
            if (code == DnsResponseCode.NXDOMAIN) {
                throw new ResolveException("5.4.4", "Host or domain name not found. Name service error for name="
                        + domain + " type=MX: Host not found");
            }
            if (code != DnsResponseCode.NOERROR) {
                throw temporary(domain, "MX", code.toString());
            }
            List<Mx> mxs = new ArrayList<>();
            int malformed = 0;
            int count = response.count(DnsSection.ANSWER);
            for (int i = 0; i < count; i++) {
                DnsRecord record = response.recordAt(DnsSection.ANSWER, i);
                if (record.type() != DnsRecordType.MX || !(record instanceof DnsRawRecord raw)) {
                    continue;
                }
                // duplicate(), not slice(): the name may be compressed against the whole message.
                ByteBuf content = raw.content().duplicate();
                int preference = content.readUnsignedShort();
                String host = DefaultDnsRecordDecoder.decodeName(content);
                host = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
                java.util.Optional<String> problem = host.isEmpty() ? java.util.Optional.empty()
                        : org.relaymta.config.internal.Hostnames.problem(host);
                if (problem.isPresent()) {
                    // Postfix: "malformed domain name in resource data of MX record"; the name is never used.
                    log.warn("malformed domain name in resource data of MX record for {}: {} ({})", domain,
                            org.relaymta.config.internal.LogText.escape(host), problem.get());
                    malformed++;
                    continue;
                }
                mxs.add(new Mx(preference, host.toLowerCase(Locale.ROOT)));
            }
            if (mxs.isEmpty() && malformed > 0) {
                throw temporary(domain, "MX", "malformed or unexpected name server reply");
            }
            if (mxs.isEmpty()) {
                return null;
            }
            Collections.shuffle(mxs, ThreadLocalRandom.current());
            mxs.sort((a, b) -> Integer.compare(a.preference(), b.preference()));
            return mxs;
        } finally {
            envelope.release();
        }
    }

    private List<Target> addresses(String host, int port, boolean nameIsNextHop) throws ResolveException {
        List<InetAddress> addresses;
        try {
            addresses = resolver.resolveAll(host).get(QUERY_TIMEOUT_MS * 3, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw temporary(host, "A", "interrupted");
        } catch (TimeoutException e) {
            throw temporary(host, "A", "timeout");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UnknownHostException && isNotFound(cause)) {
                throw new ResolveException("5.4.4", "Host or domain name not found. Name service error for name="
                        + host + " type=A: Host not found");
            }
            throw temporary(host, "A", SmtpConnection.describe(cause));
        }
        List<Target> targets = new ArrayList<>();
        for (InetAddress a : addresses) {
            targets.add(new Target(host, a, port));
        }
        if (targets.isEmpty()) {
            throw new ResolveException("5.4.4", "Host or domain name not found. Name service error for name="
                    + host + " type=A: Host not found");
        }
        return targets;
    }

    private static boolean isNotFound(Throwable t) {
        // Netty reports NXDOMAIN and "no such record" as UnknownHostException without a timeout cause.
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("timeout") || m.contains("timed out") || m.contains("servfail")) {
                return false;
            }
        }
        return true;
    }

    private static ResolveException temporary(String name, String type, String why) {
        return new ResolveException("4.4.3", "Host or domain name not found. Name service error for name=" + name
                + " type=" + type + ": " + why + " (try again later)");
    }

    @Override
    public void close() {
        resolver.close();
    }

    /** Parses {@code host:port,host:port} (port 53 by default). */
    public static List<InetSocketAddress> parseServers(String text) {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (String part : text.split("[,\\s]+")) {
            if (part.isBlank()) {
                continue;
            }
            String host = part;
            int port = 53;
            if (part.startsWith("[")) {
                int close = part.indexOf(']');
                host = part.substring(1, close);
                if (part.length() > close + 1) {
                    port = Integer.parseInt(part.substring(close + 2));
                }
            } else if (part.indexOf(':') == part.lastIndexOf(':') && part.indexOf(':') > 0) {
                host = part.substring(0, part.indexOf(':'));
                port = Integer.parseInt(part.substring(part.indexOf(':') + 1));
            }
            servers.add(new InetSocketAddress(host, port));
        }
        return servers;
    }

}
