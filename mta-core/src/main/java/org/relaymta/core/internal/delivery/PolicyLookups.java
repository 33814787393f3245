package org.relaymta.core.internal.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.dns.DnsNameResolver;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.relaymta.core.internal.sts.MtaSts;

/**
 * The DNS questions of the destination policies, asked of the relay's own resolver: TLSA records
 * through the validating resolver (DANE), the TXT records of MTA-STS and TLS reporting, and the
 * address of an MTA-STS policy host. Kept apart from {@link DnsHostResolver}, which finds servers.
 */
final class PolicyLookups implements DanePolicy.TlsaLookup, MtaSts.PolicyDns {
    private static final DnsRecordType TLSA = DnsRecordType.valueOf(52);

    private final DnsNameResolver resolver;
    /** With {@code smtp_dns_support_level = dnssec}: queries with the DO bit; null otherwise. */
    private final DnsNameResolver secure;

    PolicyLookups(DnsNameResolver resolver, DnsNameResolver secure) {
        this.resolver = resolver;
        this.secure = secure;
    }

    /**
     * TLSA records for {@code name} ({@code _25._tcp.mx.example}) through the validating resolver:
     * secure, insecure, none (NXDOMAIN or no data), or bogus (SERVFAIL: the validator refused the
     * answer, or the zone is broken; either way the mail waits).
     */
    @Override
    public CompletableFuture<DanePolicy.Answer> tlsa(String name) {
        if (secure == null) {
            return CompletableFuture.completedFuture(new DanePolicy.Answer(DanePolicy.Answer.Status.INSECURE, List.of()));
        }
        return DnsHostResolver.completion(secure.query(new DefaultDnsQuestion(name, TLSA), List.of(DnsHostResolver.dnssecOk()))).handle((envelope, e) -> {
            if (e != null) {
                throw new CompletionException(new TlsPolicyException("tlsa-invalid", "TLSA lookup for " + name + " failed: "
                        + SmtpConnection.describe(SmtpConnection.unwrap(e))));
            }
            try {
                DnsResponse response = envelope.content();
                if (response.code() == DnsResponseCode.SERVFAIL) {
                    return new DanePolicy.Answer(DanePolicy.Answer.Status.BOGUS, List.of());
                }
                if (response.code() == DnsResponseCode.NXDOMAIN) {
                    return new DanePolicy.Answer(DanePolicy.Answer.Status.NONE, List.of());
                }
                if (response.code() != DnsResponseCode.NOERROR) {
                    throw new CompletionException(new TlsPolicyException("tlsa-invalid", "TLSA lookup for " + name + ": "
                            + response.code()));
                }
                List<Tlsa> records = new ArrayList<>();
                for (int i = 0; i < response.count(DnsSection.ANSWER); i++) {
                    DnsRecord r = response.recordAt(DnsSection.ANSWER, i);
                    if (r.type().intValue() == TLSA.intValue() && r instanceof DnsRawRecord raw && raw.content().readableBytes() >= 3) {
                        ByteBuf c = raw.content().duplicate();
                        int usage = c.readUnsignedByte();
                        int selector = c.readUnsignedByte();
                        int matching = c.readUnsignedByte();
                        byte[] data = new byte[c.readableBytes()];
                        c.readBytes(data);
                        records.add(new Tlsa(usage, selector, matching, data));
                    }
                }
                if (records.isEmpty()) {
                    return new DanePolicy.Answer(DanePolicy.Answer.Status.NONE, List.of());
                }
                return new DanePolicy.Answer(DnsHostResolver.authenticated(response) ? DanePolicy.Answer.Status.SECURE
                        : DanePolicy.Answer.Status.INSECURE, records);
            } finally {
                envelope.release();
            }
        });
    }


    /** TXT strings of {@code name}, each record's character strings joined; empty for NXDOMAIN or no records. */
    @Override
    public CompletableFuture<List<String>> txt(String name) {
        return DnsHostResolver.completion(resolver.query(new DefaultDnsQuestion(name, DnsRecordType.TXT))).handle((envelope, e) -> {
            if (e != null) {
                throw new CompletionException(e);
            }
            try {
                DnsResponse response = envelope.content();
                if (response.code() == DnsResponseCode.NXDOMAIN) {
                    return List.of();
                }
                if (response.code() != DnsResponseCode.NOERROR) {
                    throw new CompletionException(new UnknownHostException("TXT lookup for " + name + ": " + response.code()));
                }
                List<String> out = new ArrayList<>();
                for (int i = 0; i < response.count(DnsSection.ANSWER); i++) {
                    DnsRecord r = response.recordAt(DnsSection.ANSWER, i);
                    if (r.type() == DnsRecordType.TXT && r instanceof DnsRawRecord raw) {
                        out.add(strings(raw.content().duplicate()));
                    }
                }
                return out;
            } finally {
                envelope.release();
            }
        });
    }

    /** RFC 1035 character-strings (a length byte, then that many bytes), joined as RFC 7208 and 8461 read them. */
    static String strings(ByteBuf b) {
        StringBuilder sb = new StringBuilder();
        while (b.isReadable()) {
            int len = b.readUnsignedByte();
            int n = Math.min(len, b.readableBytes());
            sb.append(b.readCharSequence(n, StandardCharsets.ISO_8859_1));
        }
        return sb.toString();
    }

    @Override
    public CompletableFuture<InetAddress> address(String host) {
        return DnsHostResolver.completion(resolver.resolve(host));
    }
}
