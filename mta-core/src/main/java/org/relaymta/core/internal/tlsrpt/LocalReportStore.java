package org.relaymta.core.internal.tlsrpt;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts of this node in memory, written to {@code SPOOL/tlsrpt/<period>.json} at each flush (every
 * few seconds when something changed, and at stop), read back at start: a restart loses nothing
 * counted before the last flush. One file per period, replaced atomically.
 */
final class LocalReportStore implements ReportStore {
    private static final Logger log = LoggerFactory.getLogger(LocalReportStore.class);

    private final Path dir;
    private final Map<Long, Map<String, ReportCounts>> periods = new TreeMap<>();
    private final Set<Long> dirty = new HashSet<>();

    LocalReportStore(Path dir) {
        this.dir = dir;
        load();
    }

    private void load() {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                try {
                    long period = Long.parseLong(name.substring(0, name.length() - ".json".length()));
                    JsonObject o = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
                    Map<String, ReportCounts> domains = new TreeMap<>();
                    for (String d : o.keySet()) {
                        domains.put(d, ReportCounts.fromJson(o.getAsJsonObject(d)));
                    }
                    periods.put(period, domains);
                } catch (IOException | RuntimeException e) {
                    log.warn("TLS reports: ignoring {}: {}", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("TLS reports: cannot read {}: {}", dir, e.getMessage());
        }
    }

    @Override
    public void add(long period, TlsSessionResult result) {
        periods.computeIfAbsent(period, p -> new TreeMap<>()).computeIfAbsent(result.policy().domain(), d -> new ReportCounts())
                .add(result);
        dirty.add(period);
    }

    @Override
    public Set<Long> periodsBefore(long period) {
        Set<Long> out = new HashSet<>();
        for (Long p : periods.keySet()) {
            if (p < period) {
                out.add(p);
            }
        }
        return out;
    }

    @Override
    public Set<String> domains(long period) {
        return Set.copyOf(periods.getOrDefault(period, Map.of()).keySet());
    }

    @Override
    public ReportCounts counts(long period, String domain) {
        return periods.getOrDefault(period, Map.of()).getOrDefault(domain, new ReportCounts());
    }

    @Override
    public boolean claim(long period, String domain) {
        return true;
    }

    @Override
    public void done(long period, String domain) {
        Map<String, ReportCounts> domains = periods.get(period);
        if (domains != null) {
            domains.remove(domain);
            dirty.add(period);
        }
        flush();
    }

    @Override
    public void flush() {
        for (Long period : Set.copyOf(dirty)) {
            Path file = dir.resolve(period + ".json");
            Map<String, ReportCounts> domains = periods.getOrDefault(period, Map.of());
            try {
                if (domains.isEmpty()) {
                    periods.remove(period);
                    Files.deleteIfExists(file);
                } else {
                    JsonObject o = new JsonObject();
                    domains.forEach((d, c) -> o.add(d, c.toJson()));
                    write(file, o.toString());
                }
                dirty.remove(period);
            } catch (IOException e) {
                log.warn("TLS reports: cannot write {}: {}", file, e.getMessage());
            }
        }
    }

    private void write(Path file, String text) throws IOException {
        SpoolFiles.directory(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        try (FileChannel ch = SpoolFiles.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void close() {
        flush();
    }
}
