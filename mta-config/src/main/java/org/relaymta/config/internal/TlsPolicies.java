package org.relaymta.config.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.relaymta.config.ConfigException;
import org.relaymta.config.TlsLevel;

/**
 * Postfix {@code smtp_tls_policy_maps}: a TLS policy per next-hop destination. Keys are a domain
 * (the recipient's, delivered to its MX), {@code .domain} for its subdomains, or {@code [host]:port}
 * for an explicit next hop; values a level and attributes:
 * {@code secure match=nexthop:dot-nexthop protocols=>=TLSv1.3}, {@code fingerprint match=AB:CD:..|..}.
 * Read from {@code postfix-tls-policy.cf} in the config directory, or the table main.cf names
 * (docker-mailserver's container paths found by name in the config directory). Errors name file and line.
 */
public final class TlsPolicies {
    /** The default table in the config directory. */
    public static final String FILE = "postfix-tls-policy.cf";
    private static final Pattern BRACKETED = Pattern.compile("\\[([^\\]]+)\\](?::\\d{1,5})?");
    private static final List<String> CIPHER_GRADES = List.of("high", "medium", "low", "export", "null");

    /**
     * One destination's policy.
     *
     * @param match     for verify and secure: names ({@code hostname}, {@code nexthop}, {@code dot-nexthop} or
     *                  literal names); for fingerprint: SHA-256 digests, lower-case hex without colons
     * @param protocols the protocols {@code protocols=} allows, or empty for the global setting
     * @param ciphers   the {@code ciphers=} grade, or empty for the global one (medium)
     */
    public record Policy(TlsLevel level, List<String> match, List<String> protocols, Optional<String> ciphers,
                         String location) {
        public Policy {
            match = List.copyOf(match);
            protocols = List.copyOf(protocols);
        }
    }

    private final PostfixTable table;
    private final List<Path> sources;

    private TlsPolicies(PostfixTable table, List<Path> sources) {
        this.table = table;
        this.sources = List.copyOf(sources);
    }

    public static TlsPolicies none() {
        return new TlsPolicies(PostfixTable.empty(FILE), List.of());
    }

    /**
     * The table main.cf's {@code smtp_tls_policy_maps} names ({@code texthash:}, {@code hash:} or
     * {@code lmdb:}, read from the source file), else {@code postfix-tls-policy.cf} when present.
     */
    public static TlsPolicies load(Optional<String> parameter, String where, Path configDir) {
        Path file;
        if (parameter.isPresent() && !parameter.get().isBlank()) {
            String spec = parameter.get().strip();
            int colon = spec.indexOf(':');
            String type = colon < 0 ? "" : spec.substring(0, colon).toLowerCase(Locale.ROOT);
            if (!List.of("texthash", "hash", "lmdb", "btree", "").contains(type) || spec.contains(",")) {
                throw new ConfigException(where, "smtp_tls_policy_maps: '" + spec
                        + "' is not one texthash:, hash: or lmdb: table");
            }
            file = HeaderChecks.tableFile(configDir, colon < 0 ? spec : spec.substring(colon + 1));
            if (!Files.exists(file)) {
                throw new ConfigException(where, "smtp_tls_policy_maps: table file " + file + " does not exist");
            }
        } else {
            file = configDir.resolve(FILE);
            if (!Files.exists(file)) {
                return new TlsPolicies(PostfixTable.empty(FILE), List.of(file));   // watched: adding it takes effect
            }
        }
        PostfixTable t = PostfixTable.read(file);
        for (PostfixTable.Entry e : t.entries().values()) {
            checkKey(e);
            parse(e);
        }
        return new TlsPolicies(t, List.of(file));
    }

    /** Parses a table from lines (tests, and the checks of {@code mta config}). */
    public static TlsPolicies parse(String fileName, List<String> lines) {
        PostfixTable t = PostfixTable.parse(fileName, lines);
        for (PostfixTable.Entry e : t.entries().values()) {
            checkKey(e);
            parse(e);
        }
        return new TlsPolicies(t, List.of());
    }

    public List<Path> sources() {
        return sources;
    }

    public boolean isEmpty() {
        return table.size() == 0;
    }

    /**
     * The policy for a next hop: {@code [host]:port} (and {@code [host]} for port 25) for an
     * explicit one; for an MX destination its domain, then {@code .parent} entries upwards.
     */
    public Optional<Policy> lookup(String host, int port, boolean mxLookup) {
        String h = host.toLowerCase(Locale.ROOT);
        List<String> keys = new ArrayList<>();
        if (!mxLookup) {
            keys.add("[" + h + "]:" + port);
            if (port == 25) {
                keys.add("[" + h + "]");
            }
        } else {
            keys.add(h);
            for (int dot = h.indexOf('.'); dot >= 0; dot = h.indexOf('.', dot + 1)) {
                keys.add(h.substring(dot));
            }
        }
        for (String k : keys) {
            Optional<PostfixTable.Entry> e = table.lookup(k);
            if (e.isPresent()) {
                return Optional.of(parse(e.get()));
            }
        }
        return Optional.empty();
    }

    private static void checkKey(PostfixTable.Entry e) {
        String k = e.key();
        String name;
        if (k.startsWith("[")) {
            Matcher m = BRACKETED.matcher(k);
            name = m.matches() ? m.group(1) : null;
        } else {
            name = k.startsWith(".") ? k.substring(1) : k;
        }
        if (name == null || (Hostnames.problem(name).isPresent() && !name.matches("[0-9.:a-fA-F]+"))) {
            throw new ConfigException(e.location(), "'" + LogText.escape(k) + "' is not a domain, .domain or [host]:port");
        }
    }

    static Policy parse(PostfixTable.Entry e) {
        String[] words = e.value().strip().split("\\s+");
        TlsLevel level = TlsLevel.parse(words[0], e.location());
        List<String> match = new ArrayList<>();
        List<String> protocols = List.of();
        Optional<String> ciphers = Optional.empty();
        for (int i = 1; i < words.length; i++) {
            String w = words[i];
            int eq = w.indexOf('=');
            String attr = eq < 0 ? w : w.substring(0, eq).toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : w.substring(eq + 1);
            switch (attr) {
                case "match" -> match.addAll(matches(level, value, e.location()));
                case "protocols" -> {
                    try {
                        protocols = TlsProtocols.parse(value);
                    } catch (IllegalArgumentException ex) {
                        throw new ConfigException(e.location(), "protocols=" + LogText.escape(value) + " " + ex.getMessage());
                    }
                }
                case "ciphers" -> {
                    if (!CIPHER_GRADES.contains(value.toLowerCase(Locale.ROOT))) {
                        throw new ConfigException(e.location(), "ciphers=" + value + ": expected high, medium, low, export or null");
                    }
                    ciphers = Optional.of(value.toLowerCase(Locale.ROOT));
                }
                case "exclude", "connection_reuse", "tlsa_match", "servername" -> {
                    // accepted for compatibility; this relay chooses these itself
                }
                default -> throw new ConfigException(e.location(), "unknown attribute '" + LogText.escape(w)
                        + "' (expected match=, protocols=, ciphers=)");
            }
        }
        if (level == TlsLevel.FINGERPRINT && match.isEmpty()) {
            throw new ConfigException(e.location(), "fingerprint needs match= with the SHA-256 digests of the certificate "
                    + "or public key");
        }
        if (!match.isEmpty() && level != TlsLevel.FINGERPRINT && level != TlsLevel.VERIFY && level != TlsLevel.SECURE) {
            throw new ConfigException(e.location(), "match= applies to the fingerprint, verify and secure levels, not "
                    + level.postfixName());
        }
        return new Policy(level, match, protocols, ciphers, e.location());
    }

    private static List<String> matches(TlsLevel level, String value, String where) {
        List<String> out = new ArrayList<>();
        if (level == TlsLevel.FINGERPRINT) {
            // Digests hold colons: Postfix separates them with '|' here.
            for (String d : value.split("\\|")) {
                String hex = d.replace(":", "").toLowerCase(Locale.ROOT);
                if (hex.length() != 64 || !hex.matches("[0-9a-f]+")) {
                    throw new ConfigException(where, "match=" + LogText.escape(d) + ": expected a SHA-256 digest "
                            + "(64 hex digits, colons allowed)");
                }
                out.add(HexFormat.of().formatHex(HexFormat.of().parseHex(hex)));
            }
            return out;
        }
        for (String name : value.split(":")) {
            if (!name.isEmpty()) {
                out.add(name.toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }
}
