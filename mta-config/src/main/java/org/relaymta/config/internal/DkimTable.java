package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.relaymta.config.ConfigException;

/**
 * Which DKIM keys sign mail from which address, read from docker-mailserver's layouts in the config
 * directory:
 * <ul>
 * <li>OpenDKIM: {@code opendkim/KeyTable} ({@code NAME domain:selector:/etc/opendkim/keys/...};
 *     the container path is resolved against the config directory's {@code opendkim/}) and
 *     {@code opendkim/SigningTable} ({@code *@example.com NAME}: {@code refile:} patterns with
 *     {@code *}, or plain {@code user@domain} / {@code domain} keys);</li>
 * <li>Rspamd: {@code rspamd/dkim/rsa-2048-<selector>-<domain>.private.txt} and
 *     {@code ed25519-<selector>-<domain>.private.txt}, for the domain in the name.</li>
 * </ul>
 * Every matching entry signs, so a domain with an RSA and an Ed25519 key gets both signatures.
 */
public final class DkimTable {
    public static final String KEY_TABLE = "opendkim/KeyTable";
    public static final String SIGNING_TABLE = "opendkim/SigningTable";
    public static final String RSPAMD_DIR = "rspamd/dkim";
    private static final Pattern RSPAMD_NAME = Pattern.compile("(rsa-\\d+|ed25519)-([^-]+)-(.+)\\.private\\.txt");

    /** A SigningTable line: a pattern (or plain key) and the KeyTable name it selects. */
    private record Rule(Pattern pattern, String plainKey, DkimKey key) {
        boolean matches(String address, String domain) {
            if (pattern != null) {
                return pattern.matcher(address).matches();
            }
            return plainKey.equals(address) || plainKey.equals(domain);
        }
    }

    private final List<Rule> rules;
    private final List<Path> sources;

    private DkimTable(List<Rule> rules, List<Path> sources) {
        this.rules = List.copyOf(rules);
        this.sources = List.copyOf(sources);
    }

    public static DkimTable empty() {
        return new DkimTable(List.of(), List.of());
    }

    /** Keys given as Java values (an embedding application): each signs mail from its domain and subdomains. */
    public static DkimTable of(List<DkimKey> keys) {
        List<Rule> rules = new ArrayList<>();
        for (DkimKey k : keys) {
            rules.add(new Rule(Pattern.compile("(?i).*[@.]" + Pattern.quote(k.domain())), null, k));
        }
        return new DkimTable(rules, List.of());
    }

    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /** Files this table was read from (watched for reload). */
    public List<Path> sources() {
        return sources;
    }

    /** The keys that sign mail from {@code address} (the From: address), in table order, one per key file. */
    public List<DkimKey> keysFor(String address) {
        String a = address.toLowerCase(Locale.ROOT);
        String domain = a.substring(a.lastIndexOf('@') + 1);
        Map<String, DkimKey> found = new LinkedHashMap<>();
        for (Rule r : rules) {
            if (r.matches(a, domain)) {
                found.putIfAbsent(r.key().source(), r.key());
            }
        }
        return List.copyOf(found.values());
    }

    public static DkimTable load(Path configDir) {
        List<Rule> rules = new ArrayList<>();
        List<Path> sources = new ArrayList<>(List.of(configDir.resolve(KEY_TABLE), configDir.resolve(SIGNING_TABLE)));
        Path keyTable = configDir.resolve(KEY_TABLE);
        Path signingTable = configDir.resolve(SIGNING_TABLE);
        if (Files.exists(keyTable) || Files.exists(signingTable)) {
            Map<String, DkimKey> keys = readKeyTable(configDir, keyTable);
            keys.values().forEach(k -> sources.add(Path.of(k.source())));
            for (Line l : lines(signingTable)) {
                DkimKey key = keys.get(l.value().toLowerCase(Locale.ROOT));
                if (key == null) {
                    throw new ConfigException(l.location(), "'" + l.value() + "' is not a name in " + KEY_TABLE);
                }
                String k = l.key().toLowerCase(Locale.ROOT);
                Pattern p = k.contains("*") ? Pattern.compile(glob(k)) : null;
                rules.add(new Rule(p, k, key));
            }
        }
        Path rspamd = configDir.resolve(RSPAMD_DIR);
        if (Files.isDirectory(rspamd)) {
            sources.add(rspamd);
            try (Stream<Path> files = Files.list(rspamd)) {
                for (Path f : files.sorted().toList()) {
                    Matcher m = RSPAMD_NAME.matcher(f.getFileName().toString());
                    if (m.matches()) {
                        DkimKey key = DkimKey.read(m.group(3), m.group(2), f, RSPAMD_DIR + "/" + f.getFileName());
                        rules.add(new Rule(Pattern.compile("(?i).*@" + Pattern.quote(key.domain())), null, key));
                        sources.add(f);
                    }
                }
            } catch (IOException e) {
                throw new ConfigException(RSPAMD_DIR, "cannot list: " + ConfigException.why(e), e);
            }
        }
        return new DkimTable(rules, sources);
    }

    private static Map<String, DkimKey> readKeyTable(Path configDir, Path keyTable) {
        Map<String, DkimKey> keys = new LinkedHashMap<>();
        for (Line l : lines(keyTable)) {
            String[] parts = l.value().split(":", 3);
            if (parts.length != 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
                throw new ConfigException(l.location(), "expected 'NAME domain:selector:/path/to/key', got '" + l.key() + " "
                        + l.value() + "'");
            }
            keys.put(l.key().toLowerCase(Locale.ROOT), DkimKey.read(parts[0], parts[1], keyFile(configDir, parts[2]), l.location()));
        }
        return keys;
    }

    /**
     * A KeyTable path as docker-mailserver writes it ({@code /etc/opendkim/keys/...}, the container's
     * view) found in this config directory's {@code opendkim/}; a path that exists as written, or a
     * relative one (against {@code opendkim/}), is taken as it is.
     */
    static Path keyFile(Path configDir, String written) {
        Path asWritten = Path.of(written);
        if (asWritten.isAbsolute() && Files.exists(asWritten)) {
            return asWritten;
        }
        String marker = "/opendkim/";
        int at = written.indexOf(marker);
        if (at >= 0) {
            return configDir.resolve("opendkim").resolve(written.substring(at + marker.length()));
        }
        return configDir.resolve("opendkim").resolve(written);
    }

    /** An OpenDKIM refile pattern: {@code *} matches any characters, the rest literally, case-insensitive. */
    static String glob(String pattern) {
        StringBuilder regex = new StringBuilder("(?i)");
        String[] parts = pattern.split("\\*", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(parts[i]));
        }
        return regex.toString();
    }

    private record Line(String key, String value, String location) {
    }

    private static List<Line> lines(Path file) {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<String> raw;
        try {
            raw = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + ConfigException.why(e), e);
        }
        String name = file.getParent().getFileName() + "/" + file.getFileName();
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            String s = raw.get(i).strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            int ws = PostfixTable.indexOfWhitespace(s);
            if (ws < 0) {
                throw new ConfigException(name + ":" + (i + 1), "expected 'KEY VALUE', got '" + s + "'");
            }
            out.add(new Line(s.substring(0, ws), s.substring(ws).strip(), name + ":" + (i + 1)));
        }
        return out;
    }
}
