package org.relaymta.config.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.relaymta.config.ConfigException;

/**
 * Postfix's {@code smtpd_sender_login_maps}: which SASL login names own an envelope sender address.
 * Tables are searched in order and the first that knows the address answers, as Postfix does; in
 * {@code unionmap:{...}} every table answers and the owners are joined. Text tables
 * ({@code texthash:}, {@code hash:}, {@code lmdb:}, read from their source file) are looked up with
 * the full address, the address without its {@code +extension}, then {@code @domain}; regexp and
 * pcre tables are matched against the full address. A value lists owners separated by commas or spaces.
 *
 * <p>Without the parameter, {@link #dockerMailserver} builds the map docker-mailserver writes for
 * {@code SPOOF_PROTECTION=1}: every address owns itself, {@code postfix-virtual.cf} aliases are owned
 * by their targets, and {@code postfix-regexp.cf} likewise, joined as its {@code unionmap} does.
 */
public final class SenderLogins {
    /** One table: the owners it lists for an address, or empty when it does not know the address. */
    private interface Table {
        Optional<List<String>> owners(String address);
    }

    private final List<Table> tables;
    private final boolean union;
    private final List<Path> sources;
    private final String description;

    private SenderLogins(List<Table> tables, boolean union, List<Path> sources, String description) {
        this.tables = List.copyOf(tables);
        this.union = union;
        this.sources = List.copyOf(sources);
        this.description = description;
    }

    public static SenderLogins none() {
        return new SenderLogins(List.of(), false, List.of(), "none");
    }

    /** docker-mailserver's SPOOF_PROTECTION map from the config directory's alias files. */
    public static SenderLogins dockerMailserver(Path configDir) {
        List<Table> tables = new ArrayList<>();
        List<Path> sources = new ArrayList<>();
        Path virtual = configDir.resolve(ConfigLoader.VIRTUAL_FILE);
        if (Files.exists(virtual)) {
            tables.add(text(PostfixTable.read(virtual, true)));
            sources.add(virtual);
        }
        tables.add(address -> Optional.of(List.of(address)));   // DMS sender_login_maps.pcre: /^(.*)$/ ${1}
        Path regexp = configDir.resolve(REGEXP_FILE);
        if (Files.exists(regexp)) {
            tables.add(regexp(RegexpTable.read(regexp, "smtpd_sender_login_maps")));
            sources.add(regexp);
        }
        return new SenderLogins(tables, true, sources, "docker-mailserver's (each address by itself, "
                + ConfigLoader.VIRTUAL_FILE + " and " + REGEXP_FILE + " aliases by their targets)");
    }

    static final String REGEXP_FILE = "postfix-regexp.cf";

    /**
     * The tables a {@code smtpd_sender_login_maps} value names, each file found as written or, for
     * docker-mailserver's container paths, by its name in the config directory.
     */
    public static SenderLogins load(String value, String where, Path configDir) {
        String v = value.strip();
        boolean union = false;
        if (v.regionMatches(true, 0, "unionmap:", 0, 9)) {
            String inner = v.substring(9).strip();
            if (!inner.startsWith("{") || !inner.endsWith("}")) {
                throw new ConfigException(where, "smtpd_sender_login_maps: unionmap needs its tables in braces: unionmap:{ type:/path, ... }");
            }
            v = inner.substring(1, inner.length() - 1);
            union = true;
        }
        List<Table> tables = new ArrayList<>();
        List<Path> sources = new ArrayList<>();
        for (String table : v.split("[,\\s]+")) {
            if (table.isBlank()) {
                continue;
            }
            int colon = table.indexOf(':');
            String type = colon < 0 ? "" : table.substring(0, colon).toLowerCase(Locale.ROOT);
            Path file = HeaderChecks.tableFile(configDir, colon < 0 ? table : table.substring(colon + 1));
            if (!Files.exists(file)) {
                throw new ConfigException(where, "smtpd_sender_login_maps: table file " + file + " does not exist");
            }
            switch (type) {
                case "texthash", "hash", "lmdb", "btree" -> tables.add(text(PostfixTable.read(file, true)));
                case "regexp", "pcre" -> tables.add(regexp(RegexpTable.read(file, "smtpd_sender_login_maps")));
                default -> throw new ConfigException(where, "smtpd_sender_login_maps: '" + table
                        + "' is not a texthash:, hash:, lmdb:, regexp: or pcre: table (or unionmap:{...} of them)");
            }
            sources.add(file);
        }
        return new SenderLogins(tables, union, sources, (union ? "unionmap of " : "") + sources.size() + " table(s)");
    }

    private static Table text(PostfixTable table) {
        return address -> {
            for (String key : keys(address)) {
                Optional<PostfixTable.Entry> e = table.lookup(key);
                if (e.isPresent()) {
                    return Optional.of(names(e.get().value()));
                }
            }
            return Optional.empty();
        };
    }

    private static Table regexp(RegexpTable table) {
        return address -> table.lookup(address).map(m -> names(m.value()));
    }

    /** Postfix's lookup order for an address in a text table: as it is, without +extension, @domain. */
    static List<String> keys(String address) {
        String a = address.toLowerCase(Locale.ROOT);
        Set<String> keys = new LinkedHashSet<>();
        keys.add(a);
        int at = a.lastIndexOf('@');
        if (at > 0) {
            int plus = a.indexOf('+');
            if (plus > 0 && plus < at) {
                keys.add(a.substring(0, plus) + a.substring(at));
            }
            keys.add(a.substring(at));
        }
        return List.copyOf(keys);
    }

    private static List<String> names(String value) {
        List<String> out = new ArrayList<>();
        for (String n : value.split("[,\\s]+")) {
            if (!n.isBlank()) {
                out.add(n.strip());
            }
        }
        return out;
    }

    /** The login names that own {@code sender}; empty when nobody does (or the map is empty). */
    public List<String> owners(String sender) {
        Set<String> owners = new LinkedHashSet<>();
        for (Table t : tables) {
            Optional<List<String>> found = t.owners(sender);
            if (found.isPresent()) {
                owners.addAll(found.get());
                if (!union) {
                    break;
                }
            }
        }
        return List.copyOf(owners);
    }

    /** Whether {@code login} is one of the owners of {@code sender} (compared without regard to case). */
    public boolean owns(String login, String sender) {
        return owners(sender).stream().anyMatch(o -> o.equalsIgnoreCase(login));
    }

    public boolean isEmpty() {
        return tables.isEmpty();
    }

    public List<Path> sources() {
        return sources;
    }

    /** For {@code mta config}: which map this is. */
    public String description() {
        return description;
    }
}
