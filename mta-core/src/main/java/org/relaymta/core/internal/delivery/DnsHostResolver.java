package org.relaymta.core.internal.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
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
import io.netty.util.concurrent.Future;
import java.net.IDN;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import org.relaymta.config.internal.Hostnames;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.NextHop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MX and address lookups with Netty's DNS resolver: servers from {@code /etc/resolv.conf} by
 * default, or an explicit list. Tells NXDOMAIN (final) from a timeout or SERVFAIL (try later), and
 * honours null MX (RFC 7505). Names are checked as Postfix checks them: a destination that is no
 * host name is refused before any query (internationalised names are looked up as their A-labels),
 * and an MX host name from an answer that is not one is skipped and logged escaped, because whoever
 * runs a recipient's DNS writes those names.
 */
public final class DnsHostResolver implements HostResolver {
    private static final Logger log = LoggerFactory.getLogger("org.relaymta.delivery");
    /** Postfix smtp_mx_address_limit. */
    static final int ADDRESS_LIMIT = 5;
    private static final long QUERY_TIMEOUT_MS = 5000;

    private final DnsNameResolver resolver;
    /**
     * With {@code smtp_dns_support_level = dnssec}: a resolver whose queries carry the DO bit (an
     * OPT record of ours, so Netty's own is off) and whose answers' AD bit is read; null otherwise.
     */
    private final DnsNameResolver secure;

    public DnsHostResolver(EventLoopGroup group, List<InetSocketAddress> servers) {
        this(group, servers, false);
    }

    /**
     * {@code dnssec}: trust the AD bit of the resolver's answers for MX, address and TLSA lookups, as
     * Postfix does with {@code smtp_dns_support_level = dnssec}. The resolver must validate and be
     * reached over a path nobody can tamper with: one on loopback.
     */
    public DnsHostResolver(EventLoopGroup group, List<InetSocketAddress> servers, boolean dnssec) {
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
        this.secure = !dnssec ? null : new DnsNameResolverBuilder(group.next())
                .datagramChannelType(NioDatagramChannel.class)
                .socketChannelType(NioSocketChannel.class)
                .nameServerProvider(provider)
                .queryTimeoutMillis(QUERY_TIMEOUT_MS)
                .optResourceEnabled(false)
                .build();
        if (dnssec) {
            List<InetSocketAddress> named = servers.isEmpty() ? List.of() : servers;
            if (named.stream().anyMatch(a -> a.getAddress() != null && !a.getAddress().isLoopbackAddress())) {
                log.warn("smtp_dns_support_level = dnssec: the resolver {} is not on loopback; its AD bit can be forged "
                        + "on the way (run a validating resolver such as unbound on this host)", named);
            }
        }
    }

    /** The EDNS0 OPT record with the DO bit: ask for DNSSEC records and the AD bit. */
    static DnsRecord dnssecOk() {
        return new DefaultDnsRawRecord("", DnsRecordType.OPT, 4096, 0x8000L, Unpooled.EMPTY_BUFFER);
    }

    /** The AD (authenticated data) bit of a response: Netty keeps it in the header's Z bits. */
    static boolean authenticated(DnsResponse response) {
        return (response.z() & 0x2) != 0;
    }

    @Override
    public CompletableFuture<List<Target>> resolve(NextHop hop) {
        try {
            if (hop.isIpLiteral()) {
                return CompletableFuture.completedFuture(List.of(new Target(hop.host(), literal(hop.host()), hop.port())));
            }
            String name = lookupName(hop.host());
            if (!hop.mxLookup()
                    || HostsFileEntriesResolver.DEFAULT.address(name, ResolvedAddressTypes.IPV4_PREFERRED) != null) {
                // Bracketed, or a name from /etc/hosts (localhost, a container link): no MX to ask DNS about.
                return addresses(name, hop.port(), secure != null).thenApply(DnsHostResolver::limit);
            }
            return lookupMx(name).thenCompose(answer -> {
                List<Mx> mxs = answer.mxs();
                if (mxs == null) {
                    // No MX records: the domain's own addresses are its implicit MX (RFC 5321 5.1).
                    return addresses(name, hop.port(), answer.authenticated()).thenApply(DnsHostResolver::limit);
                }
                if (mxs.size() == 1 && mxs.get(0).host().isEmpty()) {
                    throw new CompletionException(new ResolveException("5.1.10", "Host or domain name not found. Domain " + name
                            + " does not accept mail (nullMX)"));
                }
                return mxAddresses(hop, mxs, 0, new ArrayList<>(), null, answer.authenticated());
            });
        } catch (ResolveException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static InetAddress literal(String ip) throws ResolveException {
        try {
            return InetAddress.getByName(ip);   // an IP literal: parsed, never looked up
        } catch (UnknownHostException e) {
            throw new ResolveException("5.4.4", "bad IP address literal " + ip);
        }
    }

    /** The MX hosts' addresses in preference order, one host after the other, until {@link #ADDRESS_LIMIT} are had. */
    private CompletableFuture<List<Target>> mxAddresses(NextHop hop, List<Mx> mxs, int next, List<Target> targets,
                                                        ResolveException lastError, boolean mxSecure) {
        if (next >= mxs.size() || targets.size() >= ADDRESS_LIMIT) {
            if (targets.isEmpty()) {
                return CompletableFuture.failedFuture(lastError != null && !lastError.permanent() ? lastError
                        : new ResolveException("5.4.4", "Host or domain name not found. No address for any MX host of " + hop.host()));
            }
            return CompletableFuture.completedFuture(limit(targets));
        }
        return addresses(mxs.get(next).host(), hop.port(), mxSecure).handle((found, error) -> {
            ResolveException failed = lastError;
            if (error != null) {
                if (!(SmtpConnection.unwrap(error) instanceof ResolveException e)) {
                    throw new CompletionException(SmtpConnection.unwrap(error));
                }
                failed = e;
            } else {
                targets.addAll(found);
            }
            return mxAddresses(hop, mxs, next + 1, targets, failed, mxSecure);
        }).thenCompose(f -> f);
    }

    /**
     * The name to ask DNS about: an internationalised name as its A-labels; a name that is no host
     * name at all (it came from a recipient address) is refused for good, without a query.
     */
    static String lookupName(String host) throws ResolveException {
        String ascii = host;
        try {
            if (!host.chars().allMatch(c -> c < 0x80)) {
                ascii = IDN.toASCII(host, IDN.ALLOW_UNASSIGNED);
            }
        } catch (IllegalArgumentException e) {
            ascii = null;
        }
        Optional<String> problem = ascii == null ? Optional.of("not a valid internationalised name")
                : Hostnames.problem(ascii);
        if (problem.isPresent()) {
            throw new ResolveException("5.1.2", "Host or domain name not found. Malformed domain name "
                    + LogText.escape(host) + ": " + problem.get());
        }
        return ascii.toLowerCase(Locale.ROOT);
    }

    private static List<Target> limit(List<Target> targets) {
        return targets.size() > ADDRESS_LIMIT ? List.copyOf(targets.subList(0, ADDRESS_LIMIT)) : targets;
    }

    private record Mx(int preference, String host) {
    }

    /** An MX answer (null list: no MX records) and whether it was DNSSEC-validated. */
    private record MxAnswer(List<Mx> mxs, boolean authenticated) {
    }

    /** MX hosts in preference order with equal preferences shuffled; null when the name has no MX records. */
    private CompletableFuture<MxAnswer> lookupMx(String domain) {
        DefaultDnsQuestion question = new DefaultDnsQuestion(domain, DnsRecordType.MX);
        Future<AddressedEnvelope<DnsResponse, InetSocketAddress>> query = secure == null ? resolver.query(question)
                : secure.query(question, List.of(dnssecOk()));
        return completion(query).handle((envelope, e) -> {
            if (e != null) {
                throw new CompletionException(temporary(domain, "MX", SmtpConnection.describe(SmtpConnection.unwrap(e))));
            }
            try {
                return new MxAnswer(mxRecords(domain, envelope.content()), secure != null && authenticated(envelope.content()));
            } catch (ResolveException re) {
                throw new CompletionException(re);
            } finally {
                envelope.release();
            }
        });
    }

    private static List<Mx> mxRecords(String domain, DnsResponse response) throws ResolveException {
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
            Optional<String> problem = host.isEmpty() ? Optional.empty() : Hostnames.problem(host);
            if (problem.isPresent()) {
                // Postfix: "malformed domain name in resource data of MX record"; the name is never used.
                log.warn("malformed domain name in resource data of MX record for {}: {} ({})", domain,
                        LogText.escape(host), problem.get());
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
    }

    /**
     * The host's addresses; when its MX (or the hop) came from a validated answer, asked with the DO
     * bit so the targets say whether the address was validated too (DANE needs both).
     */
    private CompletableFuture<List<Target>> addresses(String host, int port, boolean chainSecure) {
        if (secure != null && chainSecure) {
            return secureAddresses(host, port, DnsRecordType.A).thenCompose(v4 -> v4 != null ? CompletableFuture.completedFuture(v4)
                    : secureAddresses(host, port, DnsRecordType.AAAA).thenCompose(v6 -> v6 != null
                            ? CompletableFuture.completedFuture(v6) : addresses(host, port, false)));
        }
        return completion(resolver.resolveAll(host)).handle((addresses, e) -> {
            if (e != null) {
                Throwable cause = SmtpConnection.unwrap(e);
                if (cause instanceof UnknownHostException && isNotFound(cause)) {
                    throw new CompletionException(new ResolveException("5.4.4", "Host or domain name not found. "
                            + "Name service error for name=" + host + " type=A: Host not found"));
                }
                throw new CompletionException(temporary(host, "A", SmtpConnection.describe(cause)));
            }
            List<Target> targets = new ArrayList<>();
            for (InetAddress a : addresses) {
                targets.add(new Target(host, a, port));
            }
            if (targets.isEmpty()) {
                throw new CompletionException(new ResolveException("5.4.4", "Host or domain name not found. "
                        + "Name service error for name=" + host + " type=A: Host not found"));
            }
            return targets;
        });
    }

    /** A/AAAA records with the AD bit; null when there are none of this type (or the answer was no success). */
    private CompletableFuture<List<Target>> secureAddresses(String host, int port, DnsRecordType type) {
        return completion(secure.query(new DefaultDnsQuestion(host, type), List.of(dnssecOk()))).handle((envelope, e) -> {
            if (e != null) {
                return null;   // the plain lookup words the failure
            }
            try {
                DnsResponse response = envelope.content();
                if (response.code() != DnsResponseCode.NOERROR) {
                    return null;
                }
                boolean ad = authenticated(response);
                List<Target> targets = new ArrayList<>();
                for (int i = 0; i < response.count(DnsSection.ANSWER); i++) {
                    DnsRecord r = response.recordAt(DnsSection.ANSWER, i);
                    if (r.type() == type && r instanceof DnsRawRecord raw) {
                        byte[] b = new byte[raw.content().readableBytes()];
                        raw.content().getBytes(raw.content().readerIndex(), b);
                        try {
                            targets.add(new Target(host, InetAddress.getByAddress(host, b), port, ad));
                        } catch (UnknownHostException bad) {
                            // a record of the wrong length: skipped
                        }
                    }
                }
                return targets.isEmpty() ? null : targets;
            } finally {
                envelope.release();
            }
        });
    }

    /** TLSA, TXT and single address lookups for the destination policies, on this resolver's servers. */
    PolicyLookups policyLookups() {
        return new PolicyLookups(resolver, secure);
    }


    /** A Netty future as a CompletableFuture, completed on the resolver's event loop; its own timeout bounds it. */
    static <T> CompletableFuture<T> completion(Future<T> future) {
        CompletableFuture<T> result = new CompletableFuture<>();
        future.addListener(f -> {
            if (f.isSuccess()) {
                @SuppressWarnings("unchecked")
                T value = (T) f.getNow();
                result.complete(value);
            } else {
                result.completeExceptionally(f.cause());
            }
        });
        return result;
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
        if (secure != null) {
            secure.close();
        }
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
