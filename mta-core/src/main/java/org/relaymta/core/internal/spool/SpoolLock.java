package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One owner per spool: an exclusive lock on {@code <spool>/lock}, held for as long as a relay (or
 * an offline {@code mta queue} command) works on the spool, with the owner's pid written inside.
 * Two relays on one spool would deliver every message twice and race on its files.
 */
public final class SpoolLock implements AutoCloseable {
    static final String FILE = "lock";
    /**
     * Lock files this process holds. A second attempt from the same process must not even open the
     * file: closing any channel on it would release the process's lock (POSIX record locks).
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private SpoolLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** The spool is used by someone else: the message names the directory and, when known, the pid. */
    public static final class InUseException extends IOException {
        private final long pid;

        InUseException(Path dir, long pid) {
            super("spool " + dir + " is in use by another relay" + (pid > 0 ? " (pid " + pid + ")" : ""));
            this.pid = pid;
        }

        /** The owner's pid, or -1 when it is not known. */
        public long pid() {
            return pid;
        }
    }

    /** Takes the lock (creating the spool directory and lock file if needed); throws {@link InUseException} when held. */
    public static SpoolLock acquire(Path spoolDir) throws IOException {
        SpoolFiles.directory(spoolDir);
        Path file = spoolDir.resolve(FILE).toAbsolutePath().normalize();
        if (!HELD.add(file)) {
            throw new InUseException(spoolDir, ProcessHandle.current().pid());
        }
        try {
            FileChannel ch = SpoolFiles.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException | IOException e) {
                ch.close();
                throw e;
            }
            if (lock == null) {
                long pid = readPid(ch);
                ch.close();
                throw new InUseException(spoolDir, pid);
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
            return new SpoolLock(file, ch, lock);
        } catch (IOException | RuntimeException e) {
            HELD.remove(file);
            throw e;
        }
    }

    private static long readPid(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            return Long.parseLong(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the file descriptor anyway
        } finally {
            HELD.remove(file);
        }
    }
}
