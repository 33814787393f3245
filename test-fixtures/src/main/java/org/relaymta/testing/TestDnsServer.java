package org.relaymta.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A small authoritative DNS server on loopback UDP for tests: MX (including null MX), A and AAAA
 * records, SERVFAIL for chosen names, NXDOMAIN for everything unknown.
 */
public final class TestDnsServer implements AutoCloseable {
    private final EventLoopGroup group = newGroup();

    @SuppressWarnings("deprecation") // the one constructor Netty 4.1 and 4.2 share; the tests also run on 4.1
    private static EventLoopGroup newGroup() {
        return new NioEventLoopGroup(1);
    }
    private final Map<String, List<String>> mx = new ConcurrentHashMap<>();
    private final Map<String, List<InetAddress>> addresses = new ConcurrentHashMap<>();
    private final Map<String, List<String>> txt = new ConcurrentHashMap<>();
    private final Set<String> servfail = ConcurrentHashMap.newKeySet();
    private final Channel channel;

    public TestDnsServer() throws InterruptedException {
        channel = new Bootstrap().group(group).channel(NioDatagramChannel.class)
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                                new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
                                        ctx.writeAndFlush(answer(query));
                                    }
                                });
                    }
                }).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** {@code "10 mx1.ext.test"}, or {@code "0 ."} for a null MX. */
    public TestDnsServer mx(String domain, String... records) {
        mx.put(domain, List.of(records));
        return this;
    }

    public TestDnsServer address(String name, String... ips) throws Exception {
        List<InetAddress> list = new ArrayList<>();
        for (String ip : ips) {
            list.add(InetAddress.getByName(ip));
        }
        addresses.put(name, list);
        return this;
    }

    /** TXT records of {@code name}, each one string (split into 255-byte character strings as needed); none: removed. */
    public TestDnsServer txt(String name, String... records) {
        if (records.length == 0) {
            txt.remove(name);
        } else {
            txt.put(name, List.of(records));
        }
        return this;
    }

    public TestDnsServer servfail(String name) {
        servfail.add(name);
        return this;
    }

    private DatagramDnsResponse answer(DatagramDnsQuery query) {
        DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
        response.setAuthoritativeAnswer(true).setRecursionAvailable(true);
        DnsQuestion question = query.recordAt(DnsSection.QUESTION);
        String name = question.name().toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(question.name(), question.type()));
        Set<String> known = new HashSet<>(mx.keySet());
        known.addAll(addresses.keySet());
        known.addAll(txt.keySet());
        if (servfail.contains(name)) {
            response.setCode(DnsResponseCode.SERVFAIL);
            return response;
        }
        if (!known.contains(name)) {
            response.setCode(DnsResponseCode.NXDOMAIN);
            return response;
        }
        if (question.type() == DnsRecordType.MX) {
            for (String record : mx.getOrDefault(name, List.of())) {
                String[] parts = record.split(" ", 2);   // the name may hold spaces (a hostile one)
                ByteBuf rdata = Unpooled.buffer();
                rdata.writeShort(Integer.parseInt(parts[0]));
                writeName(rdata, parts[1]);
                response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), DnsRecordType.MX, 60, rdata));
            }
        } else if (question.type() == DnsRecordType.TXT) {
            for (String record : txt.getOrDefault(name, List.of())) {
                ByteBuf rdata = Unpooled.buffer();
                byte[] b = record.getBytes(StandardCharsets.UTF_8);
                for (int i = 0; i < b.length || i == 0; i += 255) {
                    int n = Math.min(255, b.length - i);
                    rdata.writeByte(n).writeBytes(b, i, n);
                }
                response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), DnsRecordType.TXT, 60, rdata));
            }
        } else if (question.type() == DnsRecordType.A || question.type() == DnsRecordType.AAAA) {
            int length = question.type() == DnsRecordType.A ? 4 : 16;
            for (InetAddress a : addresses.getOrDefault(name, List.of())) {
                if (a.getAddress().length == length) {
                    response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), question.type(), 60,
                            Unpooled.wrappedBuffer(a.getAddress())));
                }
            }
        }
        return response;
    }

    private static void writeName(ByteBuf buf, String name) {
        if (!name.equals(".")) {
            for (String label : name.split("\\.")) {
                byte[] b = label.getBytes(StandardCharsets.US_ASCII);
                buf.writeByte(b.length).writeBytes(b);
            }
        }
        buf.writeByte(0);
    }

    @Override
    public void close() {
        channel.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
