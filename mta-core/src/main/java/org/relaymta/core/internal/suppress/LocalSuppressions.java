package org.relaymta.core.internal.suppress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.relaymta.core.queue.Suppression;
import org.relaymta.core.queue.SuppressionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The suppression list of one node: in memory, and on disk as {@code SPOOL/suppressions.log}, one
 * line per change ({@code + address since expires reason} or {@code - address}), rewritten whole at
 * start without what was removed or expired. A change is one append: a crash loses at most the
 * last change, never the file.
 */
public final class LocalSuppressions implements SuppressionList {
    private static final Logger log = LoggerFactory.getLogger(LocalSuppressions.class);
    static final String FILE = "suppressions.log";

    private final Path file;
    private final Clock clock;
    private final Supplier<Duration> lifetime;
    private final TreeMap<String, Suppression> entries = new TreeMap<>();
    private FileChannel out;

    private LocalSuppressions(Path file, Clock clock, Supplier<Duration> lifetime) {
        this.file = file;
        this.clock = clock;
        this.lifetime = lifetime;
    }

    /** Reads {@code SPOOL/suppressions.log} (a bad line is skipped and logged) and compacts it. */
    public static LocalSuppressions open(Path spoolRoot, Clock clock, Supplier<Duration> lifetime) throws IOException {
        LocalSuppressions s = new LocalSuppressions(spoolRoot.resolve(FILE), clock, lifetime);
        if (Files.exists(s.file)) {
            int n = 0;
            for (String line : Files.readAllLines(s.file, StandardCharsets.UTF_8)) {
                n++;
                if (!s.apply(line)) {
                    log.warn("suppressions: {}:{}: not a suppression entry, skipped", s.file, n);
                }
            }
        }
        s.rewrite();
        return s;
    }

    /** One line of the log or of another node's change; false when it is not one. */
    synchronized boolean apply(String line) {
        String[] p = line.split(" ", 5);
        try {
            if (p.length == 5 && p[0].equals("+")) {
                entries.put(p[1], new Suppression(p[1], Instant.ofEpochSecond(Long.parseLong(p[2])),
                        Instant.ofEpochSecond(Long.parseLong(p[3])), p[4]));
                return true;
            }
            if (p.length == 2 && p[0].equals("-")) {
                entries.remove(p[1]);
                return true;
            }
        } catch (NumberFormatException e) {
            return false;
        }
        return false;
    }

    /** Another node's change: applied and kept on disk. */
    synchronized boolean applyAndKeep(String line) {
        if (!apply(line)) {
            return false;
        }
        append(line);
        return true;
    }

    static String addLine(Suppression s) {
        return "+ " + s.address() + " " + s.since().getEpochSecond() + " " + s.expires().getEpochSecond() + " " + s.reason();
    }

    static String removeLine(String address) {
        return "- " + address;
    }

    /** The address as kept: lower case, no spaces (which could forge a line). */
    static String normalise(String address) {
        String a = address.strip().toLowerCase(Locale.ROOT);
        if (a.isEmpty() || a.length() > 320 || !a.matches("[^\\s<>]+@[^\\s<>@]+")) {
            throw new IllegalArgumentException("not an email address: '" + address.strip() + "'");
        }
        return a;
    }

    private static String reasonText(String reason) {
        String r = reason == null ? "" : reason.replaceAll("[\\r\\n]+", " ").strip();
        return r.isEmpty() ? "operator" : r.length() > 200 ? r.substring(0, 200) : r;
    }

    @Override
    public synchronized List<Suppression> list() {
        Instant now = clock.instant();
        return entries.values().stream().filter(s -> s.expires().isAfter(now))
                .sorted(Comparator.comparing(Suppression::address)).toList();
    }

    @Override
    public synchronized Optional<Suppression> find(String address) {
        Suppression s = entries.get(address.strip().toLowerCase(Locale.ROOT));
        return s != null && s.expires().isAfter(clock.instant()) ? Optional.of(s) : Optional.empty();
    }

    @Override
    public Suppression add(String address, String reason) {
        Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);   // as the file keeps it
        Suppression s = new Suppression(normalise(address), now, now.plus(lifetime.get()), reasonText(reason));
        put(s);
        return s;
    }

    /** Keeps {@code s} as it is (another node's entry, or the copy from Redis). */
    synchronized void put(Suppression s) {
        entries.put(s.address(), s);
        append(addLine(s));
    }

    @Override
    public synchronized boolean remove(String address) {
        String a = address.strip().toLowerCase(Locale.ROOT);
        boolean was = find(a).isPresent();
        if (entries.remove(a) != null) {
            append(removeLine(a));
        }
        return was;
    }

    /** Replaces every entry by {@code all} (the list in Redis, once it is reachable). */
    synchronized void replaceAll(Map<String, Suppression> all) {
        entries.clear();
        entries.putAll(all);
        rewrite();
    }

    private void append(String line) {
        try {
            if (out == null) {
                out = SpoolFiles.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            }
            out.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            log.error("suppressions: cannot write {}: {} (the change holds until the relay stops)", file, e.getMessage());
        }
    }

    /** Writes what is in force to a new file and renames it over the old one. */
    private void rewrite() {
        Instant now = clock.instant();
        List<String> lines = new ArrayList<>();
        entries.values().removeIf(s -> !s.expires().isAfter(now));
        entries.values().forEach(s -> lines.add(addLine(s)));
        Path tmp = file.resolveSibling(FILE + ".new");
        try {
            if (out != null) {
                out.close();
                out = null;
            }
            Files.deleteIfExists(tmp);
            try (FileChannel w = SpoolFiles.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                w.write(ByteBuffer.wrap(lines.stream().map(l -> l + "\n").reduce("", String::concat)
                        .getBytes(StandardCharsets.UTF_8)));
                w.force(false);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
