package org.relaymta.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A raw-socket SMTP client for tests: sends exactly the bytes given, reads whole (multi-line) replies. */
public final class SmtpTestClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    public final String greeting;

    public SmtpTestClient(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(30_000);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        greeting = readReply();
    }

    /** Sends one command line and returns the reply (lines joined with '\n'). */
    public String command(String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return readReply();
    }

    /**
     * DATA, then the raw bytes as given (no dot-stuffing: tests send what they mean), then the end of
     * data: {@code .CRLF} after content that ends with CRLF, else {@code CRLF.CRLF}. Returns the final
     * reply, or the DATA reply when it is not 354.
     */
    public String data(byte[] raw) throws IOException {
        String reply = command("DATA");
        if (!reply.startsWith("354")) {
            return reply;
        }
        out.write(raw);
        boolean endsWithCrlf = raw.length >= 2 && raw[raw.length - 2] == '\r' && raw[raw.length - 1] == '\n';
        out.write((endsWithCrlf ? ".\r\n" : "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return readReply();
    }

    /** A whole transaction: EHLO is expected to have been sent. */
    public String send(String from, String to, String content) throws IOException {
        String r = command("MAIL FROM:<" + from + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        r = command("RCPT TO:<" + to + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        return data(content.getBytes(StandardCharsets.UTF_8));
    }

    public String readReply() throws IOException {
        StringBuilder reply = new StringBuilder();
        while (true) {
            String line = readLine();
            if (line == null) {
                throw new IOException("connection closed; reply so far: " + reply);
            }
            if (reply.length() > 0) {
                reply.append('\n');
            }
            reply.append(line);
            if (line.length() < 4 || line.charAt(3) == ' ') {
                return reply.toString();
            }
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                byte[] b = line.toByteArray();
                int len = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                return new String(b, 0, len, StandardCharsets.UTF_8);
            }
            line.write(c);
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
