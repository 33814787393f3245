package org.relaymta.server.logging;

import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.LogText;
import org.slf4j.event.Level;

/**
 * The relay's log output, in the format an operator's tools read ({@code MTA_LOG_FORMAT} or
 * {@code mta run --log-format}):
 * <ul>
 *   <li>{@code plain}: {@code 2026-12-02T07:00:00.123Z [INFO] QueueManager - message};</li>
 *   <li>{@code postfix}: syslog style, {@code Dec  2 07:00:00 host postfix/smtp[pid]: QUEUEID: ...},
 *       the service named after the Postfix program that does the job ({@code smtpd} receives,
 *       {@code qmgr} queues and removes, {@code smtp} delivers, {@code bounce} notifies), so that
 *       pflogsumm and fail2ban filters read it; {@code syslog_name} sets the prefix;</li>
 *   <li>{@code json}: one object per line for log shippers.</li>
 * </ul>
 * {@code MTA_LOG_LEVEL} sets the level (default info; Netty and test servers at warn, the Redis client at error).
 */
public final class RelayLog {
    public enum Format { PLAIN, POSTFIX, JSON }

    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Locale.ROOT)
            .withZone(ZoneId.of("UTC"));
    private static final DateTimeFormatter SYSLOG = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT)
            .withZone(ZoneId.systemDefault());
    /** Logger names (prefixes) and the Postfix program that does that job. */
    private static final Map<String, String> SERVICES = Map.of(
            "org.relaymta.delivery", "smtp",
            "org.relaymta.smtpd", "smtpd",
            "org.relaymta.server.smtp", "smtpd",
            "org.relaymta.qmgr", "qmgr",
            "org.relaymta.cleanup", "cleanup",
            "org.relaymta.core.internal.queue.SenderNotifier", "bounce",
            "org.relaymta.core.internal.queue", "qmgr");

    private static volatile Format format = orDefault(() -> parseFormat(System.getenv("MTA_LOG_FORMAT"), Format.PLAIN), Format.PLAIN);
    private static volatile Level level = orDefault(() -> parseLevel(System.getenv("MTA_LOG_LEVEL"), Level.INFO), Level.INFO);
    private static volatile String syslogName = "postfix";
    private static volatile String hostname = "localhost";
    private static volatile PrintStream out = System.out;
    private static final long PID = ProcessHandle.current().pid();

    private RelayLog() {
    }

    /** Before mta run has checked them (and said what is wrong), bad values must not break logging. */
    private static <T> T orDefault(Supplier<T> parse, T otherwise) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            return otherwise;
        }
    }

    /** {@code plain}, {@code postfix} or {@code json}; anything else is refused with the choices. */
    public static Format parseFormat(String text, Format otherwise) {
        if (text == null || text.isBlank()) {
            return otherwise;
        }
        try {
            return Format.valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("log format '" + text + "' is not one of plain, postfix, json");
        }
    }

    public static Level parseLevel(String text, Level otherwise) {
        if (text == null || text.isBlank()) {
            return otherwise;
        }
        try {
            return Level.valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("log level '" + text + "' is not one of error, warn, info, debug, trace");
        }
    }

    /** Applies the format and level, and the host name and {@code syslog_name} the postfix format shows. */
    public static void configure(Format f, Level l, String syslog, String host) {
        format = f;
        level = l;
        syslogName = syslog == null || syslog.isBlank() ? "postfix" : syslog;
        hostname = host == null || host.isBlank() ? "localhost" : host.split("\\.", 2)[0];
    }

    /** Commands whose output is their answer log to stderr. */
    public static void toStandardError() {
        out = System.err;
    }

    /** Where log lines go (tests capture them). */
    static void toStream(PrintStream stream) {
        out = stream;
    }

    static boolean enabled(String logger, Level l) {
        if (logger.startsWith("io.lettuce") && level.toInt() < Level.ERROR.toInt()) {
            // Its reconnect attempts warn every second while Redis is down; org.relaymta.cluster says it once.
            return l.toInt() >= Level.ERROR.toInt();
        }
        Level threshold = (logger.startsWith("io.netty") || logger.startsWith("org.subethamail")
                || logger.startsWith("com.icegreen")) && level.toInt() < Level.WARN.toInt() ? Level.WARN : level;
        return l.toInt() >= threshold.toInt();
    }

    static void write(String logger, Level l, String message, Throwable t) {
        Instant now = Instant.now();
        String line = switch (format) {
            case PLAIN -> ISO.format(now) + " [" + l + "] " + shortName(logger) + " - " + message;
            case POSTFIX -> SYSLOG.format(now) + " " + hostname + " " + syslogName + "/" + service(logger) + "[" + PID + "]: "
                    + severity(logger, l) + message;
            case JSON -> json(now, l, logger, message, t);
        };
        PrintStream o = out;
        synchronized (o) {
            o.println(line);
            if (t != null && format != Format.JSON) {
                o.print(stackTrace(t));
            }
        }
    }

    private static String json(Instant now, Level l, String logger, String message, Throwable t) {
        JsonObject o = Json.object();
        o.addProperty("time", ISO.format(now));
        o.addProperty("level", l.toString());
        o.addProperty("logger", logger);
        o.addProperty("service", service(logger));
        o.addProperty("message", message);
        if (t != null) {
            o.addProperty("exception", stackTrace(t));
        }
        return Json.write(o);
    }

    private static String shortName(String logger) {
        int dot = logger.lastIndexOf('.');
        return dot < 0 ? logger : logger.substring(dot + 1);
    }

    static String service(String logger) {
        String best = null;
        for (String prefix : SERVICES.keySet()) {
            if (logger.startsWith(prefix) && (best == null || prefix.length() > best.length())) {
                best = prefix;
            }
        }
        return best == null ? "relay" : SERVICES.get(best);
    }

    /** Postfix writes "warning: " and "error: " before such lines; delivery status lines carry none. */
    private static String severity(String logger, Level l) {
        if (logger.equals("org.relaymta.delivery")) {
            return "";
        }
        return switch (l) {
            case ERROR -> "error: ";
            case WARN -> "warning: ";
            default -> "";
        };
    }

    /**
     * The stack trace as the JDK prints it, except that each exception's message (which may quote
     * a remote reply or a name from DNS) has its control characters escaped: only the trace's own
     * structure breaks lines.
     */
    static String stackTrace(Throwable t) {
        StringBuilder b = new StringBuilder();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        StackTraceElement[] enclosing = new StackTraceElement[0];
        String prefix = "";
        for (Throwable c = t; c != null && seen.add(c); c = c.getCause()) {
            b.append(prefix).append(c.getClass().getName());
            if (c.getMessage() != null) {
                b.append(": ").append(LogText.controls(c.getMessage()));
            }
            b.append(System.lineSeparator());
            StackTraceElement[] frames = c.getStackTrace();
            int m = frames.length - 1;
            int n = enclosing.length - 1;
            while (m >= 0 && n >= 0 && frames[m].equals(enclosing[n])) {
                m--;
                n--;
            }
            for (int i = 0; i <= m; i++) {
                b.append("\tat ").append(frames[i]).append(System.lineSeparator());
            }
            if (m < frames.length - 1) {
                b.append("\t... ").append(frames.length - 1 - m).append(" more").append(System.lineSeparator());
            }
            enclosing = frames;
            prefix = "Caused by: ";
        }
        return b.toString();
    }
}
