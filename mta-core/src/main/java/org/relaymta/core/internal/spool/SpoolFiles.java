package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * How the spool's directories and files are made: owner-only, whatever the process's umask, as
 * Postfix keeps its queue (directories 0700, files 0600). Mail bodies, envelopes and the admin
 * token live here. The mode is asked for when a file is created (a umask can only take bits away),
 * and the spool's own directories are tightened when a relay opens them.
 */
public final class SpoolFiles {
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private SpoolFiles() {
    }

    /** Creates {@code dir} (and missing parents) owner-only; an existing one is made owner-only when this process owns it. */
    public static void directory(Path dir) throws IOException {
        if (!POSIX) {
            Files.createDirectories(dir);
            return;
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR));
        try {
            if (!Files.getPosixFilePermissions(dir).equals(DIR)) {
                Files.setPosixFilePermissions(dir, DIR);
            }
        } catch (IOException notOwner) {
            // Made by someone else (a mount point, an operator as root): leave it; the files inside are still 0600.
        }
    }

    /** Opens a file that may be created now: created owner-only. */
    public static FileChannel open(Path file, OpenOption... options) throws IOException {
        return FileChannel.open(file, Set.of(options), attributes());
    }

    /** The attribute that makes a new file owner-only (none where the file system has no POSIX modes). */
    public static FileAttribute<?>[] attributes() {
        return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0];
    }
}
