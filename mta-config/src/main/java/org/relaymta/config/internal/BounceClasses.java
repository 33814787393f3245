package org.relaymta.config.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.relaymta.config.ConfigException;

/**
 * Bounce classes: why a recipient failed or was deferred, in a word an application can act on
 * ({@code invalid-recipient}, {@code mailbox-full}, {@code rate-limited}, ...). Rows of
 * {@code bounce-classes.cf} in the config directory come first, then the shipped table
 * ({@code org/relaymta/config/bounce-classes.cf}, providers' own codes before generic ones); the
 * first row that matches the reply code, enhanced status code and text wins, else {@code other}.
 */
public final class BounceClasses {
    public static final String FILE = "bounce-classes.cf";
    public static final String OTHER = "other";
    private static final String SHIPPED = "/org/relaymta/config/bounce-classes.cf";
    private static final Pattern ROW = Pattern.compile("^(\\S+)\\s+(?:/(.*)/\\s+)?([a-z0-9][a-z0-9-]*)\\s*(?:#.*)?$");
    private static final Pattern CODE = Pattern.compile("[245](?:\\d\\d|xx)");
    private static final Pattern ENHANCED = Pattern.compile("[245]\\.(?:\\d{1,3}|\\*)\\.(?:\\d{1,3}|\\*)");
    private static final Pattern REPLY = Pattern.compile("(?:said: |^)([245]\\d\\d)[ -]");
    private static final BounceClasses SHIPPED_ONLY = new BounceClasses(shippedRows());

    /** One row: any of {@code codes} (reply or enhanced code patterns, or {@code *}), and the text pattern if any. */
    public record Row(List<String> codes, Pattern text, String bounceClass, String location) {
        boolean matches(int replyCode, String dsn, String reason) {
            boolean code = false;
            for (String c : codes) {
                if (c.equals("*") || codeMatches(c, replyCode, dsn)) {
                    code = true;
                    break;
                }
            }
            return code && (text == null || text.matcher(reason).find());
        }

        private static boolean codeMatches(String pattern, int replyCode, String dsn) {
            if (pattern.length() == 3) {
                String reply = replyCode == 0 ? "" : Integer.toString(replyCode);
                return pattern.endsWith("xx") ? reply.startsWith(pattern.substring(0, 1)) : pattern.equals(reply);
            }
            String[] p = pattern.split("\\.");
            String[] d = dsn.split("\\.");
            if (d.length != 3) {
                return false;
            }
            for (int i = 0; i < 3; i++) {
                if (!p[i].equals("*") && !p[i].equals(d[i])) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Row> rows;

    private BounceClasses(List<Row> rows) {
        this.rows = List.copyOf(rows);
    }

    /** The shipped table alone. */
    public static BounceClasses shipped() {
        return SHIPPED_ONLY;
    }

    /** {@code bounce-classes.cf} of {@code configDir} (when there is one) before the shipped rows. */
    public static BounceClasses load(Path configDir) {
        Path file = configDir.resolve(FILE);
        if (!Files.exists(file)) {
            return SHIPPED_ONLY;
        }
        List<Row> rows;
        try {
            rows = parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + e.getMessage());
        }
        rows.addAll(SHIPPED_ONLY.rows);
        return new BounceClasses(rows);
    }

    public List<Row> rows() {
        return rows;
    }

    /**
     * The class of a failure or deferral: {@code reason} is the remote reply as logged ({@code host
     * x[1.2.3.4] said: 550 5.1.1 ...}) or the local reason; the reply code is read from it.
     */
    public String classify(String dsn, String reason) {
        Row row = rowFor(dsn, reason);
        return row == null ? OTHER : row.bounceClass();
    }

    /** The first row that matches, or null. */
    public Row rowFor(String dsn, String reason) {
        int reply = replyCode(reason);
        for (Row r : rows) {
            if (r.matches(reply, dsn == null ? "" : dsn, reason == null ? "" : reason)) {
                return r;
            }
        }
        return null;
    }

    /** The remote SMTP reply code in a reason ({@code ... said: 550 ...}, or a reply as such), or 0 for a local reason. */
    public static int replyCode(String reason) {
        if (reason == null) {
            return 0;
        }
        Matcher m = REPLY.matcher(reason);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    static List<Row> parse(String text, String source) {
        List<Row> rows = new ArrayList<>();
        TableRows.forEach(text, source, (line, where) -> {
            Matcher m = ROW.matcher(line);
            if (!m.matches()) {
                throw new ConfigException(where, "expected 'CODES [/REGEX/] CLASS' (class in lower case), got '"
                        + LogText.controls(line) + "'");
            }
            List<String> codes = List.of(m.group(1).split(","));
            for (String c : codes) {
                if (!c.equals("*") && !CODE.matcher(c).matches() && !ENHANCED.matcher(c).matches()) {
                    throw new ConfigException(where, "'" + LogText.controls(c)
                            + "' is not a reply code (550, 5xx), an enhanced status code (5.1.1, 5.7.*) or *");
                }
            }
            Pattern regex = null;
            if (m.group(2) != null) {
                try {
                    regex = Pattern.compile(m.group(2), Pattern.CASE_INSENSITIVE);
                } catch (PatternSyntaxException e) {
                    throw new ConfigException(where, "bad regular expression: " + e.getDescription());
                }
            }
            rows.add(new Row(codes, regex, m.group(3), where));
        });
        return rows;
    }

    private static List<Row> shippedRows() {
        try (InputStream in = BounceClasses.class.getResourceAsStream(SHIPPED)) {
            if (in == null) {
                throw new IllegalStateException("the shipped " + FILE + " is missing from the jar");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "shipped " + FILE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the shipped " + FILE + ": " + e.getMessage(), e);
        }
    }
}
