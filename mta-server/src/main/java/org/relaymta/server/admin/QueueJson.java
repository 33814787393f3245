package org.relaymta.server.admin;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.relaymta.config.internal.Json;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.QueueState;
import org.relaymta.core.queue.Recipient;
import org.relaymta.core.queue.RecipientStatus;

/** Queue listings in Postfix's formats: {@code postqueue -j} JSON lines and the {@code mailq} table. */
public final class QueueJson {
    private static final DateTimeFormatter MAILQ_TIME =
            DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss", Locale.ROOT).withZone(ZoneId.systemDefault());

    private QueueJson() {
    }

    /** One {@code postqueue -j} object: undelivered recipients only, with their delay reasons. */
    public static String line(SpooledMessage m, boolean active) {
        JsonObject o = Json.object();
        o.addProperty("queue_name", queueName(m, active));
        o.addProperty("queue_id", m.id());
        o.addProperty("arrival_time", m.envelope().arrival().getEpochSecond());
        o.addProperty("message_size", m.contentLength());
        o.addProperty("forced_expire", false);
        o.addProperty("sender", m.envelope().sender());
        JsonArray rcpts = new JsonArray();
        for (Recipient r : m.recipients()) {
            if (r.status() != RecipientStatus.PENDING) {
                continue;
            }
            JsonObject entry = Json.object();
            entry.addProperty("address", r.address());
            if (!r.lastReason().isEmpty()) {
                entry.addProperty("delay_reason", r.lastReason());
            }
            rcpts.add(entry);
        }
        o.add("recipients", rcpts);
        return Json.write(o);
    }

    static String queueName(SpooledMessage m, boolean active) {
        if (m.state() == QueueState.HOLD) {
            return "hold";
        }
        return active || m.state() == QueueState.ACTIVE ? "active" : "deferred";
    }

    /** The {@code mailq} table of a list. */
    public static String table(List<SpooledMessage> messages) {
        StringWriter out = new StringWriter();
        try {
            table(messages::forEach, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** The {@code mailq} table, written as the messages are visited: '*' marks active messages, '!' held ones. */
    public static void table(Consumer<Consumer<SpooledMessage>> messages, Writer out) throws IOException {
        long[] totals = new long[2];
        IOException[] failed = new IOException[1];
        messages.accept(m -> {
            if (failed[0] != null) {
                return;
            }
            try {
                if (totals[1] == 0) {
                    out.write("-Queue ID-------- --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
                }
                out.write(tableEntry(m));
                totals[0] += m.contentLength();
                totals[1]++;
            } catch (IOException e) {
                failed[0] = e;
            }
        });
        if (failed[0] != null) {
            throw failed[0];
        }
        if (totals[1] == 0) {
            out.write("Mail queue is empty\n");
            return;
        }
        out.write(String.format(Locale.ROOT, "-- %d Kbytes in %d Request%s.%n", (totals[0] + 1023) / 1024, totals[1],
                totals[1] == 1 ? "" : "s"));
    }

    /** {@code postqueue -j}: one JSON object per line, written as the messages are visited. */
    public static void lines(Consumer<Consumer<SpooledMessage>> messages, Writer out) throws IOException {
        IOException[] failed = new IOException[1];
        messages.accept(m -> {
            if (failed[0] != null) {
                return;
            }
            try {
                out.write(line(m, false));
                out.write('\n');
            } catch (IOException e) {
                failed[0] = e;
            }
        });
        if (failed[0] != null) {
            throw failed[0];
        }
    }

    /** One message's rows; padded by hand, as String.format costs more than the spool read of a listing. */
    private static String tableEntry(SpooledMessage m) {
        StringBuilder sb = new StringBuilder(160);
        String mark = switch (queueName(m, false)) {
            case "hold" -> "!";
            case "active" -> "*";
            default -> " ";
        };
        padRight(sb, m.id() + mark, 17).append(' ');
        padLeft(sb, Long.toString(m.contentLength()), 8).append(' ');
        padLeft(sb, MAILQ_TIME.format(m.envelope().arrival()), 20).append("  ");
        sb.append(m.envelope().sender().isEmpty() ? "MAILER-DAEMON" : m.envelope().sender()).append('\n');
        String lastReason = null;
        for (Recipient r : m.recipients()) {
            if (r.status() != RecipientStatus.PENDING) {
                continue;
            }
            if (!r.lastReason().isEmpty() && !r.lastReason().equals(lastReason)) {
                sb.append(INDENT).append('(').append(r.lastReason()).append(")\n");
                lastReason = r.lastReason();
            }
            sb.append(INDENT).append(r.address()).append('\n');
        }
        sb.append('\n');
        return sb.toString();
    }

    private static final String INDENT = " ".repeat(48);

    private static StringBuilder padRight(StringBuilder sb, String s, int width) {
        sb.append(s);
        for (int i = s.length(); i < width; i++) {
            sb.append(' ');
        }
        return sb;
    }

    private static StringBuilder padLeft(StringBuilder sb, String s, int width) {
        for (int i = s.length(); i < width; i++) {
            sb.append(' ');
        }
        return sb.append(s);
    }

    /** {@code mta queue show}: envelope and per-recipient state, then the message. */
    public static String showHeader(SpooledMessage m) {
        StringBuilder sb = new StringBuilder();
        sb.append("queue_id: ").append(m.id()).append('\n');
        sb.append("queue: ").append(queueName(m, false)).append('\n');
        sb.append("arrival: ").append(m.envelope().arrival()).append('\n');
        sb.append("sender: ").append(m.envelope().sender().isEmpty() ? "<>" : m.envelope().sender()).append('\n');
        sb.append("size: ").append(m.contentLength()).append('\n');
        sb.append("attempts: ").append(m.attempts()).append('\n');
        if (m.attempts() > 0) {
            sb.append("next_attempt: ").append(m.nextAttempt()).append('\n');
        }
        for (Recipient r : m.recipients()) {
            sb.append("recipient: ").append(r.address()).append(" status=").append(r.status().name().toLowerCase(Locale.ROOT));
            if (!r.dsn().isEmpty()) {
                sb.append(" dsn=").append(r.dsn());
            }
            if (!r.lastReason().isEmpty()) {
                sb.append(" (").append(r.lastReason()).append(')');
            }
            sb.append('\n');
        }
        sb.append('\n');
        return sb.toString();
    }
}
