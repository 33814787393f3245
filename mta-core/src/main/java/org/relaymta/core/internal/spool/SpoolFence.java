package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The fencing generation of a spool that nodes take over from each other: the owner writes its
 * generation into {@code <spool>/generation} when it takes the spool, and every state change and
 * every delivery start checks that the file still holds it. A node that lost the spool (paused,
 * partitioned) and comes back finds a newer generation and stops: it changes nothing more.
 *
 * <p>A check reads the file at most every {@link #RECHECK_NANOS}: a node that was paused for a
 * lease's time (15 s) always reads it again before its next change, and a running owner renews its
 * lease long before anyone else may take the spool.
 */
public final class SpoolFence {
    static final String FILE = "generation";
    public static final long RECHECK_MILLIS = 100;
    static final long RECHECK_NANOS = RECHECK_MILLIS * 1_000_000L;

    /** The spool was taken over: its generation on disk is newer than this node's. */
    public static final class FencedException extends IOException {
        FencedException(Path spool, long own, long onDisk) {
            this("spool " + spool + " was taken over by another node (generation " + onDisk + ", ours " + own
                    + "): this node changes nothing more in it");
        }

        FencedException(String message) {
            super(message);
        }
    }

    private final Path spool;
    private final long generation;
    private final AtomicBoolean fenced = new AtomicBoolean();
    private final Consumer<FencedException> onFenced;
    private volatile long checkedAt;

    private SpoolFence(Path spool, long generation, Consumer<FencedException> onFenced) {
        this.spool = spool;
        this.generation = generation;
        this.onFenced = onFenced;
        this.checkedAt = System.nanoTime();
    }

    /** Writes {@code generation} into the spool (durably) and returns the fence that checks it; {@code onFenced} is told once. */
    public static SpoolFence take(Path spool, long generation, Consumer<FencedException> onFenced) throws IOException {
        SpoolFiles.directory(spool);
        long onDisk = read(spool);
        if (onDisk > generation) {
            throw new FencedException(spool, generation, onDisk);
        }
        Path tmp = spool.resolve(FILE + ".tmp");
        try (FileChannel ch = SpoolFiles.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap((generation + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, spool.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        DirectorySync dir = new DirectorySync(spool);
        try {
            dir.sync();
        } finally {
            dir.close();
        }
        return new SpoolFence(spool, generation, onFenced);
    }

    /** The generation written in {@code spool}, 0 when none was. */
    public static long read(Path spool) throws IOException {
        try {
            String s = Files.readString(spool.resolve(FILE), StandardCharsets.US_ASCII).strip();
            return s.isEmpty() ? 0 : Long.parseLong(s);
        } catch (NoSuchFileException e) {
            return 0;
        } catch (NumberFormatException e) {
            throw new IOException("spool " + spool + ": the generation file is damaged: " + e.getMessage());
        }
    }

    public long generation() {
        return generation;
    }

    public boolean fenced() {
        return fenced.get();
    }

    /** Throws when the spool belongs to a newer generation (and, once, tells {@code onFenced}). */
    public void check() throws FencedException {
        if (fenced.get()) {
            throw new FencedException(spool, generation, -1);
        }
        long now = System.nanoTime();
        if (now - checkedAt < RECHECK_NANOS) {
            return;
        }
        long onDisk;
        try {
            onDisk = read(spool);
        } catch (IOException e) {
            return;   // an unreadable file is the disk's problem, reported where the write fails
        }
        if (onDisk != generation) {
            FencedException f = new FencedException(spool, generation, onDisk);
            if (fenced.compareAndSet(false, true)) {
                onFenced.accept(f);
            }
            throw f;
        }
        checkedAt = now;
    }

    /** This node gave the spool up (lost its lease): nothing more is changed, without reading the disk. */
    public void fence(String why) {
        if (fenced.compareAndSet(false, true)) {
            onFenced.accept(new FencedException("spool " + spool + ": " + why + ": this node changes nothing more in it"));
        }
    }
}
