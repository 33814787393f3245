package org.relaymta.server.cli;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UnsupportedEncodingException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.relaymta.config.internal.ConfigLoader;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.Mailbox;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.spool.CrlfCanonicalizer;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolLock;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.server.ServerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code mta sendmail}: the sendmail(1) interface that cron, PHP's {@code mail()} and scripts use,
 * as Postfix's. Reads a message on stdin and hands it to the running relay over SMTP (its listen
 * address, which trusts loopback); when no relay answers, writes it into the spool, where the
 * relay finds it at its next start. Options are parsed as sendmail does (attached or separate
 * values, unknown {@code -o} options ignored); exit status per sysexits(3).
 */
@Command(name = "sendmail", description = "Queue a message read on stdin, as sendmail(1): mta sendmail [-t] [-i|-oi] "
        + "[-f sender] [-F name] [-bs] [rcpt ...]")
final class SendmailCommand implements Callable<Integer> {
    static final int EX_OK = 0;
    static final int EX_USAGE = 64;
    static final int EX_DATAERR = 65;
    static final int EX_NOUSER = 67;
    static final int EX_SOFTWARE = 70;
    static final int EX_TEMPFAIL = 75;

    @Unmatched
    List<String> args = new ArrayList<>();

    /** What the command line says. */
    static final class Options {
        boolean extractRecipients;
        /** -bs: SMTP on stdin and stdout. */
        boolean smtpOnStdio;
        boolean dotEndsInput = true;
        String sender;
        String fullName;
        final List<String> recipients = new ArrayList<>();
    }

    static Options parse(List<String> args) {
        Options o = new Options();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                o.recipients.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (!a.startsWith("-") || a.length() == 1) {
                o.recipients.add(a);
                continue;
            }
            char opt = a.charAt(1);
            switch (opt) {
                case 't' -> o.extractRecipients = true;
                case 'i' -> o.dotEndsInput = false;
                case 'o' -> {
                    if (a.equals("-oi")) {
                        o.dotEndsInput = false;
                    }
                    // other -o options (-oem, -odb, ...) are ignored, as Postfix does
                }
                case 'f', 'r', 'F', 'B', 'N', 'R', 'V', 'X', 'C', 'q' -> {
                    String value = a.length() > 2 ? a.substring(2) : (i + 1 < args.size() ? args.get(++i) : null);
                    if (value == null) {
                        throw new IllegalArgumentException("option -" + opt + " needs a value");
                    }
                    if (opt == 'f' || opt == 'r') {
                        o.sender = value;
                    } else if (opt == 'F') {
                        o.fullName = value;
                    }
                }
                case 'b' -> {
                    if (a.equals("-bs")) {
                        o.smtpOnStdio = true;
                    } else if (!a.equals("-bm")) {
                        throw new IllegalArgumentException("mode " + a + " is not supported (only -bm, the default, and -bs)");
                    }
                }
                case 'v', 'U' -> {
                    // verbose / initial submission: nothing to do
                }
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return o;
    }

    @Override
    public Integer call() {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("mta sendmail: " + e.getMessage());
            return EX_USAGE;
        }
        Env env = Env.system();
        if (o.smtpOnStdio) {
            return smtpOnStdio(env);
        }
        try {
            Path configDir = Path.of(env.get("MTA_CONFIG_DIR").orElse(ServerSettings.DEFAULT_CONFIG));
            ConfigLoader loader = new ConfigLoader(env, configDir);
            String hostname = loader.parameter("myhostname").or(() -> env.get("MTA_HOSTNAME"))
                    .orElseGet(SendmailCommand::localHostName);
            long sizeLimit = loader.parameter("message_size_limit").map(SendmailCommand::sizeLimit)
                    .orElse(RelayConfig.DEFAULT_MESSAGE_SIZE_LIMIT);
            String sender = sender(o.sender, hostname);
            String fullName = fullName(o.fullName);
            byte[] raw = readMessage(new BufferedInputStream(System.in), o.dotEndsInput, sizeLimit);
            SubmittedMessage message = SubmittedMessage.of(raw, o.extractRecipients, o.recipients, sender, fullName,
                    hostname);
            if (message.recipients().isEmpty()) {
                System.err.println("mta sendmail: no recipient addresses" + (o.extractRecipients ? " in the message header" : ""));
                return EX_DATAERR;
            }
            InetSocketAddress relay = ServerSettings.parseListen(env.get("MTA_LISTEN").orElse(ServerSettings.DEFAULT_LISTEN),
                    "MTA_LISTEN");
            try {
                return new SmtpSubmission(relay, hostname).send(sender, message.recipients(), message.content());
            } catch (ConnectException e) {
                return spool(env, sender, message, relay);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("mta sendmail: " + e.getMessage());
            return EX_DATAERR;
        } catch (IOException e) {
            System.err.println("mta sendmail: " + e.getMessage());
            return EX_TEMPFAIL;
        }
    }

    /**
     * The envelope sender: {@code -f} (or {@code -r}) checked as a mailbox, {@code <>} for none, else
     * {@code $USER@myhostname}. A bare local part gets {@code @myhostname}, as Postfix's
     * {@code append_at_myorigin} does.
     */
    static String sender(String given, String hostname) {
        if (given == null) {
            return qualified(System.getProperty("user.name"), hostname, "sender");
        }
        String s = given.strip();
        if (s.equals("<>") || s.isEmpty()) {
            return "";
        }
        if (s.startsWith("<") && s.endsWith(">")) {
            s = s.substring(1, s.length() - 1);
        }
        return qualified(s, hostname, "sender");
    }

    /** {@code address} as a mailbox: {@code @hostname} added to a bare local part; anything else not a mailbox is refused. */
    static String qualified(String address, String hostname, String what) {
        controlCharacters(address, what + " address");
        String a = address.indexOf('@') < 0 && !address.isEmpty() ? address + "@" + hostname : address;
        Optional<String> problem = Mailbox.problem(a);
        if (problem.isPresent()) {
            throw new IllegalArgumentException("invalid " + what + " address '" + LogText.escape(address) + "': " + problem.get());
        }
        return a;
    }

    /** {@code -F}: a display name, never a line break or other control character (it goes into a header line). */
    static String fullName(String given) {
        if (given == null) {
            return null;
        }
        controlCharacters(given, "full name (-F)");
        return given.strip();
    }

    /** Refuses text from the command line that holds a control character: such bytes could end an SMTP command or a header line. */
    private static void controlCharacters(String text, String what) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
                throw new IllegalArgumentException("invalid " + what + " '" + LogText.escape(text) + "': control character "
                        + LogText.escape(String.valueOf(c)) + " at position " + (i + 1));
            }
        }
    }

    private static long sizeLimit(String value) {
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            return RelayConfig.DEFAULT_MESSAGE_SIZE_LIMIT;   // mta run reports the bad value
        }
    }

    /**
     * -bs: the SMTP conversation on stdin and stdout is the relay's own listener (loopback is trusted),
     * byte for byte; without a running relay the client gets a 421.
     */
    private static int smtpOnStdio(Env env) {
        InetSocketAddress relay = ServerSettings.parseListen(env.get("MTA_LISTEN").orElse(ServerSettings.DEFAULT_LISTEN),
                "MTA_LISTEN");
        String host = relay.getAddress() == null || relay.getAddress().isAnyLocalAddress() ? "127.0.0.1"
                : relay.getAddress().getHostAddress();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, relay.getPort()), 10_000);
            Thread upstream = new Thread(() -> {
                try {
                    System.in.transferTo(socket.getOutputStream());
                    socket.shutdownOutput();
                } catch (IOException e) {
                    // the relay closed the session (QUIT, or an error it reported)
                }
            }, "mta-sendmail-stdin");
            upstream.setDaemon(true);
            upstream.start();
            socket.getInputStream().transferTo(System.out);
            System.out.flush();
            return EX_OK;
        } catch (IOException e) {
            System.out.print("421 4.3.0 no relay answers at " + host + ":" + relay.getPort() + ": try again later\r\n");
            System.out.flush();
            return EX_TEMPFAIL;
        }
    }

    /** No relay answers: the message goes into the spool, under its lock, for the relay's next start. */
    private static int spool(Env env, String sender, SubmittedMessage message, InetSocketAddress relay) throws IOException {
        Path dir = Path.of(env.get("MTA_SPOOL_DIR").orElse(ServerSettings.DEFAULT_SPOOL));
        try (SpoolLock lock = SpoolLock.acquire(dir)) {
            Spool spool = Spool.open(dir, Clock.systemUTC());
            try {
                spool.recovery(); // takes up the journal's segments, so new records go after them
                SpoolWriter writer = spool.create(new Envelope(sender, message.recipients(), Clock.systemUTC().instant(),
                        "localhost"));
                CrlfCanonicalizer out = new CrlfCanonicalizer(writer);
                out.write(message.content());
                out.finish();
                String id = writer.commit().id();
                System.err.println("mta sendmail: no relay answers at " + relay.getHostString() + ":" + relay.getPort()
                        + "; queued as " + id + " in " + dir + " (sent when the relay starts)");
                return EX_OK;
            } finally {
                spool.close();
            }
        } catch (SpoolLock.InUseException e) {
            throw new IOException(e.getMessage() + " but does not answer at " + relay.getHostString() + ":" + relay.getPort()
                    + " (MTA_LISTEN): nothing was queued");
        }
    }

    /**
     * The message on stdin: up to end of input, or (without -i) a line holding a single dot. More than
     * {@code sizeLimit} bytes ({@code message_size_limit}, 0 for none) is refused before it is all in memory.
     */
    static byte[] readMessage(InputStream in, boolean dotEndsInput, long sizeLimit) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long read = 0;
        int c;
        while ((c = in.read()) != -1) {
            if (sizeLimit > 0 && ++read > sizeLimit) {
                throw new IllegalArgumentException("the message is larger than message_size_limit (" + sizeLimit + " bytes)");
            }
            if (!dotEndsInput) {
                out.write(c);
                continue;
            }
            line.write(c);
            if (c == '\n') {
                String text = line.toString(StandardCharsets.ISO_8859_1);
                if (text.equals(".\n") || text.equals(".\r\n")) {
                    return out.toByteArray();
                }
                line.writeTo(out);
                line.reset();
            }
        }
        line.writeTo(out);
        return out.toByteArray();
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** The message as it will be queued: header fixes of a local submission, and its recipients. */
    record SubmittedMessage(byte[] content, List<String> recipients) {
        private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME;

        static SubmittedMessage of(byte[] raw, boolean extract, List<String> given, String sender, String fullName,
                                   String hostname) {
            String text = new String(raw, StandardCharsets.ISO_8859_1);
            int end = headerEnd(text);
            String header = end < 0 ? text : text.substring(0, end);
            String body = end < 0 ? "" : text.substring(end);
            List<String> recipients = new ArrayList<>();
            for (String r : given) {
                controlCharacters(r, "recipient");
                for (String a : addresses(r)) {
                    recipients.add(qualified(a, hostname, "recipient"));
                }
            }
            StringBuilder kept = new StringBuilder();
            boolean hasFrom = false;
            boolean hasDate = false;
            boolean hasMessageId = false;
            for (String field : fields(header)) {
                String name = field.contains(":") ? field.substring(0, field.indexOf(':')).strip().toLowerCase(Locale.ROOT) : "";
                String value = field.contains(":") ? field.substring(field.indexOf(':') + 1) : "";
                if (extract && (name.equals("to") || name.equals("cc") || name.equals("bcc"))) {
                    for (String a : addresses(value.replaceAll("\\r?\\n", " "))) {
                        recipients.add(qualified(a, hostname, "recipient"));
                    }
                }
                hasFrom |= name.equals("from");
                hasDate |= name.equals("date");
                hasMessageId |= name.equals("message-id");
                if (!name.equals("bcc")) {
                    kept.append(field);
                }
            }
            StringBuilder added = new StringBuilder();
            String nl = header.contains("\r\n") ? "\r\n" : "\n";
            if (!hasFrom && !sender.isEmpty()) {
                added.append("From: ").append(fullName == null ? sender : from(sender, fullName)).append(nl);
            }
            if (!hasDate) {
                added.append("Date: ").append(DATE.format(ZonedDateTime.now())).append(nl);
            }
            if (!hasMessageId) {
                added.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(hostname).append('>').append(nl);
            }
            String message = added + kept.toString() + body;
            return new SubmittedMessage(message.getBytes(StandardCharsets.ISO_8859_1), List.copyOf(recipients));
        }

        /** {@code Name <address>}: the name quoted where RFC 5322 needs it, RFC 2047-encoded when it is not ASCII. */
        private static String from(String sender, String fullName) {
            try {
                return new InternetAddress(sender, fullName, "UTF-8").toString();
            } catch (UnsupportedEncodingException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Where the header ends: the index of the empty line's line end, or -1 when there is no body. */
        private static int headerEnd(String text) {
            if (text.startsWith("\n") || text.startsWith("\r\n")) {
                return 0;
            }
            int lf = text.indexOf("\n\n");
            int crlf = text.indexOf("\r\n\r\n");
            if (crlf >= 0 && (lf < 0 || crlf + 1 < lf)) {
                return crlf + 2;
            }
            return lf < 0 ? -1 : lf + 1;
        }

        /** Header fields, each with its continuation lines and line ends. */
        private static List<String> fields(String header) {
            List<String> fields = new ArrayList<>();
            StringBuilder current = null;
            for (String line : header.split("(?<=\\n)")) {
                if (!line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t') && current != null) {
                    current.append(line);
                } else {
                    if (current != null) {
                        fields.add(current.toString());
                    }
                    current = new StringBuilder(line);
                }
            }
            if (current != null && current.length() > 0) {
                fields.add(current.toString());
            }
            return fields;
        }

        private static List<String> addresses(String list) {
            try {
                List<String> out = new ArrayList<>();
                for (InternetAddress a : InternetAddress.parseHeader(list, false)) {
                    if (a.getAddress() != null && !a.getAddress().isBlank()) {
                        out.add(a.getAddress());
                    }
                }
                return out;
            } catch (AddressException e) {
                throw new IllegalArgumentException("bad address in '" + LogText.escape(list.strip()) + "': " + e.getMessage());
            }
        }
    }
}
