package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Group commit of directory fsyncs: a caller that arrives while an fsync runs waits for the next
 * one, which then covers every rename made before it started. Nobody's fsync is skipped; concurrent
 * sessions share them. A failed fsync fails every caller of its round (none of them is
 * acknowledged); the next round fsyncs the directory afresh, which covers every entry it has then,
 * so a file system that was full takes mail again once space is back.
 */
final class DirectorySync {
    private final Path directory;
    private long requested;
    private long completed;
    private boolean syncing;
    /** The failure of the last round, if it failed; cleared by the next successful one. */
    private IOException failure;
    private long failedRound;
    /** Opened once: only the leader of a round uses it, so it needs no further locking. */
    private FileChannel channel;

    DirectorySync(Path directory) {
        this.directory = directory;
    }

    /** Returns once an fsync of the directory that began after this call has completed. */
    void sync() throws IOException {
        long covers;
        synchronized (this) {
            long mine = ++requested;
            while (true) {
                if (failure != null && failedRound >= mine) {
                    throw failure;
                }
                if (completed >= mine) {
                    return;
                }
                if (!syncing) {
                    break;
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the spool directory fsync", e);
                }
            }
            syncing = true;
            covers = requested;
        }
        IOException error = null;
        try {
            if (channel == null) {
                channel = FileChannel.open(directory, StandardOpenOption.READ);
            }
            channel.force(true);
        } catch (IOException e) {
            error = e;
        }
        synchronized (this) {
            syncing = false;
            if (error != null) {
                failure = new IOException("fsync of spool directory " + directory + " failed: " + error.getMessage(), error);
                failedRound = covers;
            } else {
                completed = covers;
                failure = null;
            }
            notifyAll();
            if (error != null) {
                throw failure;
            }
        }
    }

    /** Releases the directory handle; a later sync opens it again. */
    synchronized void close() {
        while (syncing) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing was pending on it
            }
            channel = null;
        }
    }

    synchronized boolean healthy() {
        return failure == null;
    }
}
