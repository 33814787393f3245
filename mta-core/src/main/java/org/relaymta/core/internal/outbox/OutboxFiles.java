package org.relaymta.core.internal.outbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.spool.SpoolFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The outbox's files: segment names and lines, and the one-number files (checkpoint, consumer positions). */
final class OutboxFiles {
    private static final Logger log = LoggerFactory.getLogger(Outbox.class);

    private OutboxFiles() {
    }

    /** The first sequence a segment file holds, from its name ({@code %016x.log}). */
    static Optional<Long> firstSequence(Path p) {
        String n = p.getFileName().toString();
        try {
            return Optional.of(Long.parseLong(n.substring(0, n.length() - Outbox.SUFFIX.length()), 16));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return Optional.empty();
        }
    }

    /** The events of a segment after {@code after}; a torn last line (a crash mid-write) is skipped. */
    static List<DeliveryEvent> readSegment(Path file, long after) throws IOException {
        List<DeliveryEvent> events = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                EventCodec.parse(line).filter(e -> e.sequence() > after).ifPresent(events::add);
            }
        } catch (CharacterCodingException e) {
            log.warn("outbox: {} ends in a torn line; the events before it are read", file);
        }
        return events;
    }

    static Optional<Long> readNumber(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        try {
            return Optional.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            throw new IOException(file + " does not hold a sequence number: remove it to start over from the current end");
        }
    }

    /** Replaces the file atomically; {@code durable}: fsynced before the rename. */
    static void writeNumber(Path file, long value, boolean durable) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel c = SpoolFiles.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap((value + "\n").getBytes(StandardCharsets.US_ASCII));
            while (b.hasRemaining()) {
                c.write(b);
            }
            if (durable) {
                c.force(false);
            }
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A consumer name is a file name: letters, digits, dot, dash, underscore, at most 64. */
    static String checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("a listener name is 1 to 64 letters, digits, '.', '-' or '_' (got '"
                    + String.valueOf(name).replaceAll("[^\\x20-\\x7e]", "?") + "')");
        }
        return name;
    }

    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            log.debug("outbox: directory fsync: {}", e.toString());   // some file systems refuse it; the data fsync still holds
        }
    }
}
