package org.relaymta.core.internal.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;

/** A parsed {@code ID.state} file; arrival, size and sender are null / -1 in files written before they were added. */
record StateFile(int attempts, Instant next, QueueState state, boolean warned, Instant arrival, long size,
                 String sender, List<Recipient> recipients) {

    /** The state file's contents, or null when there is none. */
    static StateFile read(Path file) throws IOException {
        List<String> lines;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            lines = List.of(new String(SpoolScanner.readAt(ch, 0, (int) ch.size()), StandardCharsets.UTF_8).split("\n"));
        } catch (NoSuchFileException e) {
            return null;
        }
        int attempts = 0;
        Instant next = null;
        QueueState state = QueueState.DEFERRED;
        boolean warned = false;
        Instant arrival = null;
        long size = -1;
        String sender = null;
        List<Recipient> recipients = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith("attempts=")) {
                attempts = Integer.parseInt(l.substring(9));
            } else if (l.startsWith("next=")) {
                next = Instant.ofEpochMilli(Long.parseLong(l.substring(5)));
            } else if (l.startsWith("queue=")) {
                state = QueueState.valueOf(l.substring(6).toUpperCase(Locale.ROOT));
            } else if (l.startsWith("warned=")) {
                warned = Boolean.parseBoolean(l.substring(7));
            } else if (l.startsWith("arrival=")) {
                arrival = Instant.ofEpochMilli(Long.parseLong(l.substring(8)));
            } else if (l.startsWith("size=")) {
                size = Long.parseLong(l.substring(5));
            } else if (l.startsWith("sender=")) {
                sender = l.substring(7);
            } else if (l.startsWith("rcpt=")) {
                String[] f = l.substring(5).split("\t", 4);
                recipients.add(new Recipient(f[3], RecipientStatus.valueOf(f[0]), f[1], f[2]));
            }
        }
        return new StateFile(attempts, next, state, warned, arrival, size, sender, recipients);
    }

    boolean hasSummary() {
        return arrival != null && size >= 0 && sender != null && next != null;
    }
}
