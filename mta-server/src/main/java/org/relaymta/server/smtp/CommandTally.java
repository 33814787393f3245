package org.relaymta.server.smtp;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a session's commands came to, for the {@code disconnect from} line as Postfix writes it:
 * {@code ehlo=1 mail=1 rcpt=0/1 data=0/1 quit=1 commands=3/5} (ok/total where some failed). A
 * command succeeded if its last reply is 2xx; a 3xx (DATA's 354, AUTH's 334) is not yet the last.
 */
final class CommandTally {
    /** Postfix's order of the counters on the line. */
    private static final String[] ORDER = {"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop",
        "vrfy", "etrn", "quit", "unknown"};

    private final Map<String, int[]> counts = new LinkedHashMap<>();
    private int[] open;

    private static final java.util.Set<String> NAMED = java.util.Set.of(ORDER);

    /** A command line arrived; a verb Postfix does not count by name (HELP, EXPN, junk) counts as {@code unknown}. */
    void command(String verb) {
        String name = verb.toLowerCase(Locale.ROOT);
        if (!NAMED.contains(name)) {
            name = "unknown";
        }
        open = counts.computeIfAbsent(name, k -> new int[2]);
        open[1]++;
    }

    /** A reply went out; the first line of a multi-line reply decides. */
    void replied(String text) {
        if (open == null || text.length() < 3) {
            return;
        }
        char first = text.charAt(0);
        if (first == '3') {
            return;
        }
        if (first == '2') {
            open[0]++;
        }
        open = null;
    }

    /** {@code ehlo=1 mail=1 rcpt=0/1 ... commands=2/3}. */
    String summary() {
        StringBuilder b = new StringBuilder();
        int ok = 0;
        int total = 0;
        for (String name : ORDER) {
            int[] c = counts.get(name);
            if (c == null) {
                continue;
            }
            b.append(name).append('=').append(ratio(c[0], c[1])).append(' ');
            ok += c[0];
            total += c[1];
        }
        return b.append("commands=").append(ratio(ok, total)).toString();
    }

    private static String ratio(int ok, int total) {
        return ok == total ? Integer.toString(total) : ok + "/" + total;
    }
}
