package org.relaymta.core.internal.sts;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Optional;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MTA-STS policies kept across restarts, one file per domain in {@code SPOOL/mta-sts/}: the TXT id
 * it was fetched under, when, and the policy as served. A restart keeps enforcing a policy while
 * its max_age lasts, even with the policy host down (RFC 8461 section 5.1). Written atomically
 * (temporary file, fsync, rename); a file that does not parse is ignored and replaced at the next fetch.
 */
final class PolicyCache {
    private static final Logger log = LoggerFactory.getLogger(PolicyCache.class);

    private final Path dir;

    PolicyCache(Path dir) {
        this.dir = dir;
    }

    Optional<StsPolicy> load(String domain) {
        Path f = file(domain);
        if (f == null || !Files.exists(f)) {
            return Optional.empty();
        }
        try {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            int blank = text.indexOf("\n\n");
            String[] head = text.substring(0, blank).split("\n");
            String id = head[0].substring("id: ".length());
            Instant fetched = Instant.ofEpochSecond(Long.parseLong(head[1].substring("fetched: ".length())));
            return Optional.of(StsPolicy.parse(id, text.substring(blank + 2), fetched));
        } catch (IOException | RuntimeException e) {
            log.warn("MTA-STS: ignoring the cached policy {}: {}", f, e.getMessage());
            return Optional.empty();
        }
    }

    void store(String domain, StsPolicy policy) {
        Path f = file(domain);
        if (f == null) {
            return;
        }
        String text = "id: " + policy.id() + "\nfetched: " + policy.fetched().getEpochSecond() + "\n\n" + policy.text();
        try {
            SpoolFiles.directory(dir);
            Path tmp = dir.resolve(f.getFileName() + ".tmp");
            try (FileChannel ch = SpoolFiles.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            // The policy still applies from memory; only a restart would have to fetch it again.
            log.warn("MTA-STS: cannot keep the policy of {} in {}: {}", domain, dir, e.getMessage());
        }
    }

    /** The domain's file; null for a name that is not a plain host name (never a path). */
    private Path file(String domain) {
        if (!domain.matches("[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?") || domain.contains("..")) {
            return null;
        }
        return dir.resolve(domain + ".policy");
    }
}
