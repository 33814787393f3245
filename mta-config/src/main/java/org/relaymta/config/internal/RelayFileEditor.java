package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The file edits behind {@code setup relay}, with docker-mailserver's
 * syntax: {@code @domain [host]:port} in {@code postfix-relaymap.cf}, {@code @domain user:password}
 * in {@code postfix-sasl-password.cf}. Edits keep comments and unrelated lines, replace an existing
 * entry for the same key (case-insensitive) in place, and are atomic (temp file, fsync, rename).
 */
public final class RelayFileEditor {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_AND_GROUP_READ = PosixFilePermissions.fromString("rw-r-----");

    private final Path configDir;

    public RelayFileEditor(Path configDir) {
        this.configDir = configDir;
    }

    public Path relayMapFile() {
        return configDir.resolve(ConfigLoader.RELAY_MAP_FILE);
    }

    public Path saslPasswordFile() {
        return configDir.resolve(ConfigLoader.SASL_PASSWORD_FILE);
    }

    /** {@code @domain [host]:port}, replacing any entry for {@code @domain}. Returns the line written. */
    public String addDomain(String domain, String host, String port) throws IOException {
        String d = validateDomain(domain);
        String h = validateHost(host);
        int p = validatePort(port == null ? "25" : port);
        String line = "@" + d + " [" + h + "]:" + p;
        NextHop.parse("[" + h + "]:" + p, "host");
        upsert(relayMapFile(), "@" + d, line, false);
        return line;
    }

    /** {@code @domain user:password} in the credentials file (mode 0600). Returns the line with the password masked. */
    public String addAuth(String domain, String username, String password) throws IOException {
        String d = validateDomain(domain);
        if (username == null || username.isEmpty() || hasWhitespace(username) || username.contains(":")) {
            throw new IllegalArgumentException("invalid username '" + username + "': it must be non-empty, without whitespace or ':'");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("Password must not be empty");
        }
        if (password.indexOf('\n') >= 0 || password.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("the password must be a single line");
        }
        upsert(saslPasswordFile(), "@" + d, "@" + d + " " + username + ":" + password, true);
        return "@" + d + " " + username + ":********";
    }

    /** The opt-out line {@code @domain}, replacing a mapping for that domain. */
    public String excludeDomain(String domain) throws IOException {
        String d = validateDomain(domain);
        upsert(relayMapFile(), "@" + d, "@" + d, false);
        return "@" + d;
    }

    public Path transportFile() {
        return configDir.resolve(TransportTable.FILE);
    }

    /**
     * Mail <em>to</em> DOMAIN goes through HOST:PORT: {@code DOMAIN smtp:[host]:port} in
     * {@code postfix-transport.cf}, replacing any entry for DOMAIN; {@code host} "direct" writes
     * {@code smtp:} (the recipient's MX). Returns the line written.
     */
    public String addRecipientDomain(String domain, String host, String port) throws IOException {
        String d = validateDomain(domain);
        String line;
        if (host != null && host.strip().equalsIgnoreCase("direct") && port == null) {
            line = d + " smtp:";
        } else {
            String h = validateHost(host);
            int p = validatePort(port == null ? "25" : port);
            NextHop.parse("[" + h + "]:" + p, "host");
            line = d + " smtp:[" + h + "]:" + p;
        }
        upsert(transportFile(), d, line, false);
        return line;
    }

    /** Removes DOMAIN's entry from {@code postfix-transport.cf}; 0 or 1. */
    public int removeRecipientDomain(String domain) throws IOException {
        return removeKey(transportFile(), validateDomain(domain), false);
    }

    /** Removes {@code @domain} from both files. Returns how many entries were removed. */
    public int remove(String domain) throws IOException {
        String d = validateDomain(domain);
        int removed = 0;
        removed += removeKey(relayMapFile(), "@" + d, false);
        removed += removeKey(saslPasswordFile(), "@" + d, true);
        return removed;
    }

    static String validateDomain(String domain) {
        String d = domain == null ? "" : domain.strip();
        if (d.startsWith("@")) {
            d = d.substring(1);
        }
        if (d.isEmpty() || !d.matches("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
            throw new IllegalArgumentException("invalid domain '" + domain + "': expected a domain name such as example.com");
        }
        return d.toLowerCase(Locale.ROOT);
    }

    static String validateHost(String host) {
        String h = host == null ? "" : host.strip();
        if (h.startsWith("[") && h.endsWith("]")) {
            // Brackets are added here, as DMS does; given ones are not doubled.
            h = h.substring(1, h.length() - 1);
        }
        if (h.isEmpty() || hasWhitespace(h) || h.contains("[") || h.contains("]") || h.contains("@") || h.contains(",")) {
            throw new IllegalArgumentException("invalid host '" + host + "': expected a host name or IP address, "
                    + "without whitespace or extra brackets");
        }
        if (h.indexOf(':') >= 0 && !h.matches("[0-9A-Fa-f:.]+")) {
            throw new IllegalArgumentException("invalid host '" + host + "': give the port as a separate argument");
        }
        return h;
    }

    static int validatePort(String port) {
        try {
            int p = Integer.parseInt(port.strip());
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw new IllegalArgumentException("invalid port '" + port + "': expected a number from 1 to 65535");
    }

    private static boolean hasWhitespace(String s) {
        return s.chars().anyMatch(Character::isWhitespace);
    }

    private static List<String> read(Path file) throws IOException {
        return Files.exists(file) ? new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8)) : new ArrayList<>();
    }

    /** Index range [start, end) of the entry with {@code key} (its line and continuation lines), or null. */
    private static int[] find(List<String> lines, String key) {
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#") || Character.isWhitespace(line.charAt(0))) {
                continue;
            }
            int ws = PostfixTable.indexOfWhitespace(s);
            String k = ws < 0 ? s : s.substring(0, ws);
            if (k.equalsIgnoreCase(key)) {
                int end = i + 1;
                while (end < lines.size() && !lines.get(end).isEmpty() && Character.isWhitespace(lines.get(end).charAt(0))
                        && !lines.get(end).strip().isEmpty() && !lines.get(end).strip().startsWith("#")) {
                    end++;
                }
                return new int[] {i, end};
            }
        }
        return null;
    }

    private void upsert(Path file, String key, String line, boolean secret) throws IOException {
        List<String> lines = read(file);
        int[] range = find(lines, key);
        if (range == null) {
            lines.add(line);
        } else {
            for (int i = range[1] - 1; i > range[0]; i--) {
                lines.remove(i);
            }
            lines.set(range[0], line);
            // A duplicate further down would make the table invalid: drop it too.
            int[] again;
            while ((again = findAfter(lines, key, range[0] + 1)) != null) {
                for (int i = again[1] - 1; i >= again[0]; i--) {
                    lines.remove(i);
                }
            }
        }
        writeAtomically(file, lines, secret);
    }

    private static int[] findAfter(List<String> lines, String key, int from) {
        List<String> tail = lines.subList(from, lines.size());
        int[] r = find(tail, key);
        return r == null ? null : new int[] {r[0] + from, r[1] + from};
    }

    private int removeKey(Path file, String key, boolean secret) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        List<String> lines = read(file);
        int removed = 0;
        int[] range;
        while ((range = find(lines, key)) != null) {
            for (int i = range[1] - 1; i >= range[0]; i--) {
                lines.remove(i);
            }
            removed++;
        }
        if (removed > 0) {
            writeAtomically(file, lines, secret);
        }
        return removed;
    }

    /**
     * Writes through a temporary file renamed over the old one. The file keeps its owner, group and
     * mode (an administrator running {@code setup} as root must not take the file away from the relay's
     * user); a new file gets the config directory's owner and group, 0640 for secrets (the relay reads
     * it through its group), 0644 otherwise.
     */
    private void writeAtomically(Path file, List<String> lines, boolean secret) throws IOException {
        Files.createDirectories(configDir);
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        if (posix) {
            boolean existed = Files.exists(file);
            Path model = existed ? file : configDir;
            Set<PosixFilePermission> mode = existed ? Files.getPosixFilePermissions(file)
                    : secret ? OWNER_AND_GROUP_READ : PosixFilePermissions.fromString("rw-r--r--");
            // Created owner-only first: never readable by others, even for a moment.
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            PosixFileAttributes owner = Files.readAttributes(model, PosixFileAttributes.class);
            try {
                PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
                if (!owner.owner().equals(Files.getOwner(tmp))) {
                    view.setOwner(owner.owner());
                }
                view.setGroup(owner.group());
            } catch (IOException notPermitted) {
                // Only root may give a file away: as another user the file stays this user's.
            }
            Files.setPosixFilePermissions(tmp, mode);
        } else {
            Files.createFile(tmp);
        }
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(configDir, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
