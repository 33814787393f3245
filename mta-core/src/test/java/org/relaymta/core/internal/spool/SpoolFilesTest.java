package org.relaymta.core.internal.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
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
            ch.write(ByteBuffer.wrap(new byte[] {1}));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool.resolve("queue/X")))).isEqualTo("rw-------");
    }

    @Test
    void journalSegmentsAndSpilledMessagesAreOwnerOnly() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), Clock.systemUTC());
        try {
            SpoolWriter big = spool.create(new Envelope("a@b.test", List.of("c@d.test"), Instant.now(), ""));
            big.write(new byte[SpoolWriter.SPILL_THRESHOLD + 10]);
            SpoolWriter small = spool.create(new Envelope("a@b.test", List.of("c@d.test"), Instant.now(), ""));
            small.write("Subject: x\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
            small.commit();
            try (var files = Files.walk(dir.resolve("spool"))) {
                files.filter(Files::isRegularFile).forEach(p -> {
                    try {
                        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rw-------");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
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
