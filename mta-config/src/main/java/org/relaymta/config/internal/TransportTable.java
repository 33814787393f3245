package org.relaymta.config.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.relaymta.config.ConfigException;

/**
 * Postfix's {@code transport_maps} ({@code transport(5)}): where mail goes by its <em>recipient</em>,
 * before the sender relay map and the relay host. Keys: {@code user@domain} (also found for
 * {@code user+ext@domain}), {@code domain}, {@code .domain} for its subdomains, {@code *} for the
 * rest. Values {@code transport:nexthop}:
 * <pre>
 * blocked.example   smtp:[email-smtp.eu-west-1.amazonaws.com]:587   next hop as written (credentials by it)
 * partner.example   smtp:mail.partner.example                       that host's MX
 * .internal.example relay:[10.0.0.5]                                 relay: is smtp: here
 * direct.example    smtp:                                           the recipient domain's own MX
 * pool.example      smtp:balance [a.example]:587 weight=3, [b.example]:587
 * gone.example      error:5.1.1 this domain does not take mail any more
 * later.example     retry:4.3.2 maintenance until Monday
 * devnull.example   discard:
 * sub.pool.example  :                                               no entry: the usual route
 * </pre>
 * Read from {@code postfix-transport.cf} in the config directory or the table main.cf names; hot
 * reloaded with the rest; errors with file and line.
 */
public final class TransportTable {
    public static final String FILE = "postfix-transport.cf";

    /** What a transport entry does. */
    public enum Kind {
        /** Deliver over SMTP: to {@link Entry#hops()}, or the recipient domain's MX when there are none. */
        SMTP,
        /** Bounce at once with {@link Entry#dsn()} and {@link Entry#text()}. */
        ERROR,
        /** Defer with {@link Entry#dsn()} and {@link Entry#text()}. */
        RETRY,
        /** Drop the recipient, logged as delivered. */
        DISCARD,
        /** The entry says nothing ({@code :}): the sender map and relay host decide, as without it. */
        DEFAULT
    }

    /**
     * One entry.
     *
     * @param key      the key as written
     * @param kind     what it does
     * @param hops     for {@link Kind#SMTP}: the next hops; empty: the recipient domain's MX
     * @param dsn      for error and retry: the enhanced status code
     * @param text     for error, retry and discard: the text
     * @param location file and line
     */
    public record Entry(String key, Kind kind, List<NextHop> hops, String dsn, String text, String location) {
        public Entry {
            hops = List.copyOf(hops);
        }
    }

    private final PostfixTable table;
    private final List<Path> sources;

    private TransportTable(PostfixTable table, List<Path> sources) {
        this.table = table;
        this.sources = List.copyOf(sources);
    }

    public static TransportTable none() {
        return new TransportTable(PostfixTable.empty(FILE), List.of());
    }

    /** The table main.cf's {@code transport_maps} names, else {@code postfix-transport.cf} when present. */
    public static TransportTable load(Optional<String> parameter, String where, Path configDir) {
        Path file;
        if (parameter.isPresent()) {
            String spec = parameter.get().strip();
            if (spec.isEmpty()) {
                return none();
            }
            int colon = spec.indexOf(':');
            String type = colon < 0 ? "" : spec.substring(0, colon).toLowerCase(Locale.ROOT);
            if (!List.of("texthash", "hash", "lmdb", "btree", "").contains(type) || spec.contains(",")) {
                throw new ConfigException(where, "transport_maps: '" + spec + "' is not one texthash:, hash: or lmdb: table");
            }
            file = HeaderChecks.tableFile(configDir, colon < 0 ? spec : spec.substring(colon + 1));
            if (!Files.exists(file)) {
                throw new ConfigException(where, "transport_maps: table file " + file + " does not exist");
            }
        } else {
            file = configDir.resolve(FILE);
            if (!Files.exists(file)) {
                return new TransportTable(PostfixTable.empty(FILE), List.of(file));
            }
        }
        return of(PostfixTable.read(file), List.of(file));
    }

    /** A table from lines (tests, {@code mta config check}). */
    public static TransportTable parse(String fileName, List<String> lines) {
        return of(PostfixTable.parse(fileName, lines), List.of());
    }

    private static TransportTable of(PostfixTable t, List<Path> sources) {
        for (PostfixTable.Entry e : t.entries().values()) {
            checkKey(e);
            entry(e);
        }
        return new TransportTable(t, sources);
    }

    public List<Path> sources() {
        return sources;
    }

    public boolean isEmpty() {
        return table.size() == 0;
    }

    /** Every entry, in file order. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        table.entries().values().forEach(e -> out.add(entry(e)));
        return out;
    }

    /**
     * The entry for {@code recipient} in {@code transport(5)} order: the address, the address without
     * its {@code +extension}, the domain, each parent as {@code .parent}, then {@code *}.
     */
    public Optional<Entry> lookup(String recipient) {
        if (table.size() == 0) {
            return Optional.empty();
        }
        for (String key : keys(recipient)) {
            Optional<PostfixTable.Entry> e = table.lookup(key);
            if (e.isPresent()) {
                return Optional.of(entry(e.get()));
            }
        }
        return Optional.empty();
    }

    static List<String> keys(String recipient) {
        String address = recipient.toLowerCase(Locale.ROOT);
        List<String> keys = new ArrayList<>();
        int at = address.lastIndexOf('@');
        String domain = at < 0 ? address : address.substring(at + 1);
        if (at > 0) {
            keys.add(address);
            String local = address.substring(0, at);
            int plus = local.indexOf('+');
            if (plus > 0) {
                keys.add(local.substring(0, plus) + "@" + domain);
            }
        }
        if (!domain.isEmpty()) {
            keys.add(domain);
            for (int dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
                keys.add(domain.substring(dot));
            }
        }
        keys.add("*");
        return keys;
    }

    private static void checkKey(PostfixTable.Entry e) {
        String k = e.key();
        if (k.equals("*")) {
            return;
        }
        int at = k.lastIndexOf('@');
        String domain = at >= 0 ? k.substring(at + 1) : k.startsWith(".") ? k.substring(1) : k;
        if (at == 0 || domain.isEmpty() || Hostnames.problem(domain).isPresent()) {
            throw new ConfigException(e.location(), "'" + LogText.escape(k) + "' is not a domain, .domain, user@domain or *");
        }
    }

    static Entry entry(PostfixTable.Entry e) {
        String v = e.value().strip();
        int colon = v.indexOf(':');
        if (colon < 0) {
            throw new ConfigException(e.location(), "'" + LogText.escape(v) + "' is not transport:nexthop (smtp:, relay:, "
                    + "error:, retry:, discard: or :)");
        }
        String transport = v.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String nexthop = v.substring(colon + 1).strip();
        switch (transport) {
            case "" -> {
                if (!nexthop.isEmpty()) {
                    return new Entry(e.key(), Kind.SMTP, NextHop.parseList(nexthop, e.location()), "", "", e.location());
                }
                return new Entry(e.key(), Kind.DEFAULT, List.of(), "", "", e.location());
            }
            case "smtp", "relay", "lmtp" -> {
                if (transport.equals("lmtp")) {
                    throw new ConfigException(e.location(), "lmtp: is not a transport of this relay (smtp:, relay:, error:, "
                            + "retry:, discard:)");
                }
                List<NextHop> hops = nexthop.isEmpty() ? List.of() : NextHop.parseList(nexthop, e.location());
                return new Entry(e.key(), Kind.SMTP, hops, "", "", e.location());
            }
            case "error", "retry" -> {
                boolean error = transport.equals("error");
                String dsn = error ? "5.0.0" : "4.0.0";
                String text = nexthop;
                Matcher m = Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})(\\s+|$)")
                        .matcher(nexthop);
                if (m.find()) {
                    String code = m.group(1) + "." + m.group(2) + "." + m.group(3);
                    if (error && code.charAt(0) != '5' || !error && code.charAt(0) != '4') {
                        throw new ConfigException(e.location(), transport + ": needs a " + (error ? "5" : "4") + ".x.x status, not "
                                + code);
                    }
                    dsn = code;
                    text = nexthop.substring(m.end()).strip();
                }
                if (text.isEmpty()) {
                    text = error ? "mail for this destination is refused by the transport table"
                            : "mail for this destination is deferred by the transport table";
                }
                return new Entry(e.key(), error ? Kind.ERROR : Kind.RETRY, List.of(), dsn, text, e.location());
            }
            case "discard" -> {
                return new Entry(e.key(), Kind.DISCARD, List.of(), "2.0.0", nexthop.isEmpty() ? "discarded" : nexthop,
                        e.location());
            }
            default -> throw new ConfigException(e.location(), "transport '" + LogText.escape(transport) + "' is not one of this "
                    + "relay's (smtp:, relay:, error:, retry:, discard:, or : for the usual route)");
        }
    }
}
