package org.relaymta.core.internal.milter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.MilterSettings;
import org.relaymta.core.internal.spool.HeaderField;

/**
 * One message's conversation with one milter, as Postfix's milter8 client has it: negotiate, then
 * connect, HELO, MAIL, RCPT, DATA, the headers, end of headers, the body in chunks and end of
 * message, each step skipped or sent without waiting as the milter asked, then apply the
 * modifications it sends at the end (headers added, changed, inserted; body replaced; recipients
 * added or removed; sender changed; quarantine) and its verdict.
 */
final class MilterSession {
    // Protocol steps the milter may turn off (SMFIP_*), and the steps it does not answer.
    static final int NOCONNECT = 0x1, NOHELO = 0x2, NOMAIL = 0x4, NORCPT = 0x8, NOBODY = 0x10, NOHDRS = 0x20,
            NOEOH = 0x40, NR_HDR = 0x80, NOUNKNOWN = 0x100, NODATA = 0x200, SKIP = 0x400, RCPT_REJ = 0x800,
            NR_CONN = 0x1000, NR_HELO = 0x2000, NR_MAIL = 0x4000, NR_RCPT = 0x8000, NR_DATA = 0x10000,
            NR_UNKN = 0x20000, NR_EOH = 0x40000, NR_BODY = 0x80000;
    /** Every step flag this client understands (it never asks for leading spaces in header values). */
    static final int OFFERED_PROTOCOL = 0xFFFFF;
    /** Every modification this client applies (SMFIF_ADDHDRS ... SMFIF_ADDRCPT_PAR, SETSYMLIST). */
    static final int OFFERED_ACTIONS = 0x1FF;
    private static final int CHUNK = 65535;

    /** How the conversation ended for the message. */
    enum Outcome { CONTINUE, ACCEPT, REJECT, TEMPFAIL, DISCARD }

    /** The verdict and, for REJECT and TEMPFAIL, the reply to give. */
    record Verdict(Outcome outcome, String reply) {
    }

    private final MilterConnection conn;
    private final MilterSettings settings;
    private final MilterMessage m;
    private int protocol;
    private int version;
    String quarantine;
    /** This milter has started sending a replacement body: if it fails now, the body is neither the old nor a whole new one. */
    boolean replacing;

    MilterSession(MilterConnection conn, MilterSettings settings, MilterMessage message) {
        this.conn = conn;
        this.settings = settings;
        this.m = message;
    }

    Verdict run() throws IOException {
        negotiate();
        Verdict v;
        if (on(NOCONNECT)) {
            byte[] addr = m.clientAddress.getBytes(StandardCharsets.US_ASCII);
            ByteArrayOutputStream c = new ByteArrayOutputStream();
            c.writeBytes(z(m.clientName));
            c.write(m.clientAddress.contains(":") ? '6' : '4');
            c.write(0);
            c.write(25);
            c.writeBytes(addr);
            c.write(0);
            if ((v = step("connect", 'C', c.toByteArray(), NR_CONN)) != null) {
                return v;
            }
        }
        if (on(NOHELO) && (v = step("helo", 'H', z(m.helo), NR_HELO)) != null) {
            return v;
        }
        if (on(NOMAIL) && (v = step("mail", 'M', z("<" + m.sender + ">"), NR_MAIL)) != null) {
            return v;
        }
        if (on(NORCPT)) {
            for (Iterator<String> it = m.recipients.iterator(); it.hasNext(); ) {
                String rcpt = it.next();
                macros("rcpt", rcpt);
                conn.send('R', z("<" + rcpt + ">"), settings.commandTimeout());
                if (!off(NR_RCPT)) {
                    Verdict r = reply(settings.commandTimeout());
                    if (r.outcome() == Outcome.REJECT || r.outcome() == Outcome.TEMPFAIL) {
                        it.remove();   // this recipient only, as a RCPT reply would
                        if (m.recipients.isEmpty()) {
                            return r;
                        }
                    } else if (r.outcome() != Outcome.CONTINUE) {
                        return r;
                    }
                }
            }
        }
        if (version >= 4 && on(NODATA) && (v = step("data", 'T', new byte[0], NR_DATA)) != null) {
            return v;
        }
        if (on(NOHDRS)) {
            for (HeaderField f : m.headers) {
                conn.send('L', cat(z(f.name()), z(headerValue(f))), settings.commandTimeout());
                if (!off(NR_HDR) && (v = verdictOrNull(reply(settings.commandTimeout()))) != null) {
                    return v;
                }
            }
        }
        if (on(NOEOH) && (v = step("eoh", 'N', new byte[0], NR_EOH)) != null) {
            return v;
        }
        if (on(NOBODY)) {
            try (InputStream body = m.body()) {
                byte[] chunk = new byte[CHUNK];
                int n;
                boolean skipped = false;
                while (!skipped && (n = body.readNBytes(chunk, 0, CHUNK)) > 0) {
                    conn.send('B', Arrays.copyOf(chunk, n), settings.contentTimeout());
                    if (!off(NR_BODY)) {
                        Verdict r = reply(settings.contentTimeout());
                        if (r == SKIPPED) {
                            skipped = true;
                        } else if ((v = verdictOrNull(r)) != null) {
                            return v;
                        }
                    }
                }
            }
        }
        macros("end_of_data", null);
        conn.send('E', new byte[0], settings.contentTimeout());
        return endOfMessage();
    }

    private static final Verdict CONTINUED = new Verdict(Outcome.CONTINUE, null);
    private static final Verdict SKIPPED = new Verdict(Outcome.CONTINUE, "skip");

    private boolean on(int noFlag) {
        return (protocol & noFlag) == 0;
    }

    private boolean off(int nrFlag) {
        return (protocol & nrFlag) != 0;
    }

    private void negotiate() throws IOException {
        ByteBuffer offer = ByteBuffer.allocate(12).putInt(settings.protocol()).putInt(OFFERED_ACTIONS).putInt(OFFERED_PROTOCOL);
        conn.send('O', offer.array(), settings.commandTimeout());
        MilterConnection.Packet p = conn.read(settings.commandTimeout());
        if (p.command() != 'O' || p.data().length < 12) {
            throw new IOException("the milter did not negotiate (answered '" + p.command() + "')");
        }
        ByteBuffer answer = ByteBuffer.wrap(p.data());
        version = Math.min(answer.getInt(), settings.protocol());
        answer.getInt();   // the modifications it may make: all are applied
        protocol = answer.getInt() & OFFERED_PROTOCOL;
    }

    /** One step: its macros, the command, and the reply unless the milter said it sends none. */
    private Verdict step(String stage, char command, byte[] data, int noReply) throws IOException {
        macros(stage, null);
        conn.send(command, data, settings.commandTimeout());
        return off(noReply) ? null : verdictOrNull(reply(settings.commandTimeout()));
    }

    /** Null to go on, else how the conversation ends. */
    private static Verdict verdictOrNull(Verdict r) {
        return r.outcome() == Outcome.CONTINUE ? null : r;
    }

    private Verdict reply(Duration timeout) throws IOException {
        while (true) {
            MilterConnection.Packet p = conn.read(timeout);
            switch (p.command()) {
                case 'p' -> { }   // progress: keep waiting
                case 'c' -> {
                    return CONTINUED;
                }
                case 's' -> {
                    return SKIPPED;
                }
                case 'a' -> {
                    return new Verdict(Outcome.ACCEPT, null);
                }
                case 'r', 't', 'd', 'y' -> {
                    return replyOf(p);
                }
                default -> throw new IOException("unexpected reply '" + p.command() + "' from the milter");
            }
        }
    }

    /**
     * The modifications after end of message, then the verdict. A replacement body is streamed from
     * the socket to the spool packet by packet ({@code SMFIR_REPLBODY} may come in any number of
     * packets of any size), so it never has to fit in memory.
     */
    private Verdict endOfMessage() throws IOException {
        OutputStream newBody = null;
        try {
            while (true) {
                MilterConnection.Head head = conn.head(settings.contentTimeout());
                if (head.command() == 'b') {
                    if (newBody == null) {
                        replacing = true;
                        newBody = m.replaceBody();
                    }
                    conn.transfer(head, newBody, settings.contentTimeout());
                    continue;
                }
                byte[] d = conn.data(head, settings.contentTimeout());
                switch (head.command()) {
                    case 'h' -> addHeader(m.headers.size(), string(d, 0), string(d, next(d, 0)));
                    case 'i' -> {
                        int index = ByteBuffer.wrap(d).getInt();
                        addHeader(Math.min(index, m.headers.size()), string(d, 4), string(d, next(d, 4)));
                    }
                    case 'm' -> changeHeader(ByteBuffer.wrap(d).getInt(), string(d, 4), string(d, next(d, 4)));
                    case '+', '2' -> m.recipients.add(unbracket(string(d, 0)));
                    case '-' -> {
                        String gone = unbracket(string(d, 0));
                        m.recipients.removeIf(r -> r.equalsIgnoreCase(gone));
                    }
                    case 'e' -> m.sender = unbracket(string(d, 0));
                    case 'q' -> quarantine = string(d, 0);
                    case 'p' -> { }
                    case 'c', 'a' -> {
                        if (newBody != null) {
                            newBody.close();   // the new body is complete (and ends with CRLF) before the next milter reads it
                            newBody = null;
                        }
                        return new Verdict(Outcome.CONTINUE, null);
                    }
                    case 'r', 't', 'd', 'y' -> {
                        conn.send('Q', new byte[0], settings.commandTimeout());
                        return replyOf(new MilterConnection.Packet(head.command(), d));
                    }
                    default -> throw new IOException("unexpected reply '" + head.command() + "' from the milter at end of message");
                }
            }
        } finally {
            if (newBody != null) {
                try {
                    newBody.close();
                } catch (IOException ignored) {
                    // the message is refused anyway: a milter that stopped while replacing the body
                }
            }
        }
    }

    /** A refusing verdict ('r', 't', 'd', 'y') and the SMTP reply it gives. */
    private static Verdict replyOf(MilterConnection.Packet p) {
        return switch (p.command()) {
            case 'r' -> new Verdict(Outcome.REJECT, "550 5.7.1 Command rejected");
            case 't' -> new Verdict(Outcome.TEMPFAIL, "451 4.7.1 Service unavailable - try again later");
            case 'd' -> new Verdict(Outcome.DISCARD, null);
            default -> {
                String text = string(p.data(), 0).strip();
                yield new Verdict(text.startsWith("4") ? Outcome.TEMPFAIL : Outcome.REJECT, text);
            }
        };
    }

    private void addHeader(int index, String name, String value) throws IOException {
        HeaderField f = field(name, value);
        m.account(f, null);
        m.headers.add(index, f);
    }

    /** SMFIR_CHGHEADER: the index-th field of that name (from 1) gets the value, or goes when the value is empty. */
    private void changeHeader(int index, String name, String value) throws IOException {
        int seen = 0;
        for (int i = 0; i < m.headers.size(); i++) {
            if (m.headers.get(i).name().equalsIgnoreCase(name) && ++seen == Math.max(index, 1)) {
                if (value.isEmpty()) {
                    m.account(null, m.headers.remove(i));
                } else {
                    HeaderField f = field(name, value);
                    m.account(f, m.headers.get(i));
                    m.headers.set(i, f);
                }
                return;
            }
        }
        if (!value.isEmpty()) {
            HeaderField f = field(name, value);
            m.account(f, null);
            m.headers.add(f);
        }
    }

    /**
     * A header field from a milter, always exactly one field: its line breaks made CRLF, and a line
     * that would start at the left margin is indented, so a value with CR/LF in it cannot add a
     * header line of its own ("x\r\nBcc: ..."). A name that is not a field name is refused.
     */
    static HeaderField field(String name, String value) throws IOException {
        if (name.isEmpty() || !name.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
            throw new IOException("the milter sent a header with an invalid name '"
                    + LogText.escape(name) + "'");
        }
        StringBuilder v = new StringBuilder(value.length() + 8);
        String[] lines = value.split("\r\n|\r|\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                v.append("\r\n");
                if (lines[i].isEmpty() || (lines[i].charAt(0) != ' ' && lines[i].charAt(0) != '\t')) {
                    v.append('\t');
                }
            }
            v.append(lines[i]);
        }
        return new HeaderField(name, (name + ": " + v + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The value as a milter expects it: without the space after the colon, line breaks as LF. */
    static String headerValue(HeaderField f) {
        String raw = new String(f.raw(), StandardCharsets.ISO_8859_1);
        String v = raw.substring(raw.indexOf(':') + 1);
        if (v.startsWith(" ")) {
            v = v.substring(1);
        }
        if (v.endsWith("\r\n")) {
            v = v.substring(0, v.length() - 2);
        }
        return v.replace("\r\n", "\n");
    }

    private void macros(String stage, String rcpt) throws IOException {
        List<String> names = settings.macros().getOrDefault(stage, List.of());
        if (names.isEmpty()) {
            return;
        }
        char command = switch (stage) {
            case "connect" -> 'C';
            case "helo" -> 'H';
            case "mail" -> 'M';
            case "rcpt" -> 'R';
            case "data" -> 'T';
            case "eoh" -> 'N';
            default -> 'E';
        };
        ByteArrayOutputStream d = new ByteArrayOutputStream();
        d.write(command);
        boolean any = false;
        for (String name : names) {
            String value = macro(name, rcpt);
            if (value != null) {
                d.writeBytes(z(name));
                d.writeBytes(z(value));
                any = true;
            }
        }
        if (any) {
            conn.send('D', d.toByteArray(), settings.commandTimeout());
        }
    }

    private String macro(String name, String rcpt) {
        String bare = name.replace("{", "").replace("}", "");
        return switch (bare) {
            case "j" -> m.myhostname;
            case "i" -> m.queueId;
            case "_" -> m.clientName + " [" + m.clientAddress + "]";
            case "v" -> "Relay MTA";
            case "daemon_name" -> "relay-mta";
            case "mail_addr" -> m.sender;
            case "mail_host", "rcpt_host" -> m.myhostname;
            case "mail_mailer", "rcpt_mailer" -> "smtp";
            case "rcpt_addr" -> rcpt;
            default -> null;
        };
    }

    static String unbracket(String address) {
        String a = address.strip();
        if (a.startsWith("<") && a.indexOf('>') > 0) {
            a = a.substring(1, a.indexOf('>'));
        }
        return a;
    }

    private static byte[] z(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    private static byte[] cat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int next(byte[] d, int from) {
        int i = from;
        while (i < d.length && d[i] != 0) {
            i++;
        }
        return i + 1;
    }

    private static String string(byte[] d, int from) {
        if (from >= d.length) {
            return "";
        }
        int end = from;
        while (end < d.length && d[end] != 0) {
            end++;
        }
        return new String(d, from, end - from, StandardCharsets.UTF_8);
    }

    /** Ends the conversation politely (after a verdict that is not the end-of-message one). */
    void quit() {
        try {
            conn.send('Q', new byte[0], Duration.ofSeconds(1));
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
