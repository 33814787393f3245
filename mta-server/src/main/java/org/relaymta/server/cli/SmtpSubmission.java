package org.relaymta.server.cli;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.relaymta.config.internal.LogText;

/**
 * {@code mta sendmail}'s hand-over to the running relay: one plain SMTP transaction on its listen
 * address (loopback, which the relay trusts), content dot-stuffed with CRLF line ends. Returns a
 * sysexits(3) status and says on stderr what the relay answered when it refused.
 */
final class SmtpSubmission {
    private final InetSocketAddress relay;
    private final String helo;
    private InputStream in;
    private OutputStream out;

    SmtpSubmission(InetSocketAddress relay, String helo) {
        this.relay = relay;
        this.helo = helo;
    }

    /** Throws {@link java.net.ConnectException} when no relay listens (the caller spools instead). */
    int send(String sender, List<String> recipients, byte[] content) throws IOException {
        try (Socket socket = new Socket()) {
            String host = relay.getAddress() == null || relay.getAddress().isAnyLocalAddress() ? "127.0.0.1"
                    : relay.getAddress().getHostAddress();
            socket.connect(new InetSocketAddress(host, relay.getPort()), 10_000);
            socket.setSoTimeout(300_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = new BufferedOutputStream(socket.getOutputStream());
            String reply = read();
            if (!reply.startsWith("220")) {
                return refused("greeting", reply);
            }
            String ehlo = command("EHLO " + helo);
            if (!ehlo.startsWith("250")) {
                ehlo = command("HELO " + helo);
                if (!ehlo.startsWith("250")) {
                    return refused("HELO", ehlo);
                }
            }
            boolean eightBit = false;
            for (byte b : content) {
                eightBit |= b < 0;
            }
            boolean utf8 = !ascii(sender) || !recipients.stream().allMatch(SmtpSubmission::ascii);
            reply = command("MAIL FROM:<" + sender + ">" + (eightBit && ehlo.contains("8BITMIME") ? " BODY=8BITMIME" : "")
                    + (utf8 && ehlo.contains("SMTPUTF8") ? " SMTPUTF8" : ""));
            if (!reply.startsWith("250")) {
                return refused("MAIL FROM", reply);
            }
            int accepted = 0;
            String lastRefusal = null;
            for (String rcpt : recipients) {
                reply = command("RCPT TO:<" + rcpt + ">");
                if (reply.startsWith("25")) {
                    accepted++;
                } else {
                    lastRefusal = reply;
                    System.err.println("mta sendmail: <" + rcpt + ">: " + reply);
                }
            }
            if (accepted == 0) {
                command("QUIT");
                return lastRefusal != null && lastRefusal.startsWith("4") ? SendmailCommand.EX_TEMPFAIL : SendmailCommand.EX_NOUSER;
            }
            reply = command("DATA");
            if (!reply.startsWith("354")) {
                return refused("DATA", reply);
            }
            writeContent(content);
            reply = read();
            command("QUIT");
            if (!reply.startsWith("250")) {
                return refused("end of data", reply);
            }
            return SendmailCommand.EX_OK;
        }
    }

    private int refused(String step, String reply) {
        System.err.println("mta sendmail: the relay at " + relay.getHostString() + ":" + relay.getPort() + " refused "
                + step + ": " + reply);
        return reply.startsWith("4") ? SendmailCommand.EX_TEMPFAIL : SendmailCommand.EX_DATAERR;
    }

    /** Every line ends in CRLF; a line starting with a dot gets another (RFC 5321 4.5.2); then the final dot. */
    private void writeContent(byte[] content) throws IOException {
        int start = 0;
        while (start < content.length) {
            int lf = start;
            while (lf < content.length && content[lf] != '\n') {
                lf++;
            }
            int end = lf > start && lf <= content.length && content[lf - 1] == '\r' ? lf - 1 : lf;
            if (content[start] == '.') {
                out.write('.');
            }
            out.write(content, start, end - start);
            out.write('\r');
            out.write('\n');
            start = lf + 1;
        }
        out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static boolean ascii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    /**
     * One command line. The caller has checked every address (SendmailCommand); a line break or
     * other control character is refused here once more, because one would let the rest of the
     * text be read as further commands by the relay.
     */
    private String command(String line) throws IOException {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("refusing to send an SMTP command with a control character: "
                        + LogText.escape(line));
            }
        }
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return read();
    }

    /** One reply, its lines joined with a space. */
    private String read() throws IOException {
        StringBuilder reply = new StringBuilder();
        while (true) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    line.write(c);
                }
            }
            String text = line.toString(StandardCharsets.UTF_8);
            if (c == -1 && text.isEmpty()) {
                throw new IOException("the relay at " + relay.getHostString() + ":" + relay.getPort() + " closed the connection");
            }
            reply.append(reply.length() == 0 ? "" : " ").append(text);
            if (text.length() < 4 || text.charAt(3) != '-') {
                return reply.toString();
            }
        }
    }
}
