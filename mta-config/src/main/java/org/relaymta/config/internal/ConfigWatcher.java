package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.relaymta.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hot reload: checks the config directory (and the files the current snapshot was read from) a
 * couple of times a second and, when their content changed, loads a new snapshot. A valid change
 * is handed to {@code onChange}; an invalid one is logged with file and line, and the previous
 * snapshot stays in force. Content is compared, not timestamps, so quick successive edits and
 * editors that preserve mtimes are still seen.
 */
public final class ConfigWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

    private final Path configDir;
    private final Supplier<RelayConfig> loader;
    private final Supplier<RelayConfig> current;
    private final Consumer<RelayConfig> onChange;
    private final Map<String, Path> secretFiles;
    private final ScheduledExecutorService scheduler;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private Map<String, Long> fingerprint;

    public ConfigWatcher(Path configDir, Env env, Supplier<RelayConfig> loader, Supplier<RelayConfig> current,
                         Consumer<RelayConfig> onChange) {
        this.configDir = configDir;
        this.loader = loader;
        this.current = current;
        this.onChange = onChange;
        this.secretFiles = env.secretFiles();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mta-config-watch");
            t.setDaemon(true);
            return t;
        });
        this.fingerprint = fingerprint();
    }

    public ConfigWatcher start(Duration interval) {
        scheduler.scheduleWithFixedDelay(this::checkNow, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Reloads when the inputs changed since the last check. Returns true when a new snapshot took effect. */
    public synchronized boolean checkNow() {
        try {
            Map<String, Long> now = fingerprint();
            if (now.equals(fingerprint)) {
                return false;
            }
            fingerprint = now;
            return reload("reloaded");
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            log.error("config: reload check failed: {}", e.toString());
            return false;
        }
    }

    /**
     * Reloads now whether or not the files look changed (SIGHUP, as Postfix's {@code postfix
     * reload}); {@code trigger} names the cause in the log line. Returns true when it took effect.
     */
    public synchronized boolean reloadNow(String trigger) {
        try {
            fingerprint = fingerprint();
            return reload("reloaded on " + trigger);
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            log.error("config: reload on {} failed: {}", trigger, e.toString());
            return false;
        }
    }

    private boolean reload(String what) {
        RelayConfig previous = current.get();
        RelayConfig next;
        try {
            next = loader.get();
        } catch (ConfigException e) {
            failures.incrementAndGet();
            log.error("config: reload rejected, previous configuration stays in force: {}", e.getMessage());
            return false;
        }
        onChange.accept(next);
        reloads.incrementAndGet();
        log.info("config: {}: {}", what, next.describeChangeFrom(previous));
        for (String lost : next.tablesEmptiedSince(previous)) {
            log.warn("config: {} (emptied or deleted?)", lost);
        }
        for (String w : next.warnings()) {
            log.warn("config: {}", w);
        }
        return true;
    }

    public long reloads() {
        return reloads.get();
    }

    public long failures() {
        return failures.get();
    }

    private Map<String, Long> fingerprint() {
        Map<String, Long> prints = new TreeMap<>();
        if (Files.isDirectory(configDir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(configDir, "postfix-*")) {
                for (Path f : files) {
                    add(prints, f);
                }
            } catch (IOException e) {
                prints.put("!" + configDir, -1L);
            }
        }
        RelayConfig cfg = current.get();
        if (cfg != null) {
            for (Path f : cfg.sources()) {
                add(prints, f);
            }
        }
        for (Path f : secretFiles.values()) {
            add(prints, f);
        }
        return prints;
    }

    private static void add(Map<String, Long> prints, Path file) {
        String key = file.toAbsolutePath().normalize().toString();
        if (Files.isDirectory(file)) {
            // A directory of key files (rspamd/dkim): a file added, removed or replaced changes this.
            try (Stream<Path> listing = Files.list(file)) {
                CRC32 crc = new CRC32();
                listing.sorted().forEach(p -> {
                    crc.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                    try {
                        crc.update(Long.toString(Files.getLastModifiedTime(p).toMillis() ^ Files.size(p))
                                .getBytes(StandardCharsets.UTF_8));
                    } catch (IOException gone) {
                        crc.update(0);
                    }
                });
                prints.put(key, crc.getValue());
            } catch (IOException e) {
                prints.put(key, -1L);
            }
            return;
        }
        try {
            CRC32 crc = new CRC32();
            crc.update(Files.readAllBytes(file));
            prints.put(key, crc.getValue());
        } catch (NoSuchFileException e) {
            prints.put(key, -2L);
        } catch (IOException e) {
            prints.put(key, -1L);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
