package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolFilesTest {
    @TempDir
    Path dir;

    @Test
    void filesAndDirectoriesAreOwnerOnlyAndAnExistingSpoolIsTightened() throws Exception {
        Path spool = dir.resolve("a/spool");
        Files.createDirectories(spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        SpoolFiles.directory(spool);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool))).isEqualTo("rwx------");
        SpoolFiles.directory(spool.resolve("queue/deep"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool.resolve("queue")))).isEqualTo("rwx------");
        try (var ch = SpoolFiles.open(spool.resolve("queue/X"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {1}));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool.resolve("queue/X")))).isEqualTo("rw-------");
    }

    @Test
    void journalSegmentsAndSpilledMessagesAreOwnerOnly() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), java.time.Clock.systemUTC());
        try {
            SpoolWriter big = spool.create(new Envelope("a@b.test", java.util.List.of("c@d.test"), java.time.Instant.now(), ""));
            big.write(new byte[SpoolWriter.SPILL_THRESHOLD + 10]);
            SpoolWriter small = spool.create(new Envelope("a@b.test", java.util.List.of("c@d.test"), java.time.Instant.now(), ""));
            small.write("Subject: x\r\n\r\nx\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            small.commit();
            try (var files = Files.walk(dir.resolve("spool"))) {
                files.filter(Files::isRegularFile).forEach(p -> {
                    try {
                        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rw-------");
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            assertThat(Files.list(dir.resolve("spool/journal")).count()).isPositive();
            big.abort();
        } finally {
            spool.close();
        }
    }
}
