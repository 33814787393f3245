package org.relaymta.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A real socket server that answers SMTP commands from a script and records every line a client
 * sends: for upstreams no library server can imitate (no STARTTLS, a tiny SIZE, no 8BITMIME,
 * injected replies, ...). After a 354 reply it reads message content until the lone dot itself
 * and answers {@code 250 2.0.0 Ok: queued}.
 */
public final class ScriptedSmtpServer implements AutoCloseable {
    /** A script's answer for a line that gets no reply. */
    public static final String NO_REPLY = "\u0000no-reply";
    private final ServerSocket server;
    public final List<String> received = new CopyOnWriteArrayList<>();
    public final List<String> content = new CopyOnWriteArrayList<>();

    public ScriptedSmtpServer(Function<String, String> script) throws IOException {
        this(InetAddress.getLoopbackAddress(), 0, script);
    }

    /** {@code script} maps a command line to the reply (lines separated by \n; null closes the connection). */
    public ScriptedSmtpServer(InetAddress bind, int port, Function<String, String> script) throws IOException {
        this(bind, port, script, false);
    }

    /**
     * One session at a time ({@code concurrent} false: a second client waits for the first, as some
     * tests want), or each in its own thread, as a real server. A 421 reply closes the connection.
     */
    private ScriptedSmtpServer(InetAddress bind, int port, Function<String, String> script, boolean concurrent)
            throws IOException {
        server = new ServerSocket(port, 50, bind);
        Thread thread = new Thread(() -> {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    continue;
                }
                if (concurrent) {
                    Thread session = new Thread(() -> serve(s, script), "scripted-smtp-session");
                    session.setDaemon(true);
                    session.start();
                } else {
                    serve(s, script);
                }
            }
        }, "scripted-smtp");
        thread.setDaemon(true);
        thread.start();
    }

    /** Like the constructor, with each session in its own thread. */
    public static ScriptedSmtpServer concurrent(InetAddress bind, int port, Function<String, String> script) throws IOException {
        return new ScriptedSmtpServer(bind, port, script, true);
    }

    private void serve(Socket socket, Function<String, String> script) {
        try (Socket s = socket) {
            s.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            OutputStream out = s.getOutputStream();
            out.write("220 scripted.test ESMTP\r\n".getBytes(StandardCharsets.UTF_8));
            String line;
            boolean inData = false;
            while ((line = in.readLine()) != null) {
                if (inData) {
                    if (line.equals(".")) {
                        inData = false;
                        out.write("250 2.0.0 Ok: queued\r\n".getBytes(StandardCharsets.UTF_8));
                    } else {
                        content.add(line);
                    }
                    continue;
                }
                received.add(line);
                String reply = script.apply(line);
                if (reply == null) {
                    break;
                }
                if (reply.equals(NO_REPLY)) {
                    continue;
                }
                out.write((reply.replace("\n", "\r\n") + "\r\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (reply.startsWith("354")) {
                    inData = true;
                }
                if (line.equalsIgnoreCase("QUIT") || reply.startsWith("421")) {
                    break;
                }
            }
        } catch (IOException e) {
            // next connection
        }
    }

    /**
     * A plain accepting server: EHLO answers with {@code ehloExtensions} (e.g. "8BITMIME", "SIZE 100");
     * {@code rcpt} gives the RCPT reply.
     */
    public static ScriptedSmtpServer accepting(InetAddress bind, int port, Supplier<String> rcpt,
                                        String... ehloExtensions) throws IOException {
        StringBuilder ehlo = new StringBuilder("250-scripted.test");
        for (String ext : ehloExtensions) {
            ehlo.append("\n250-").append(ext);
        }
        ehlo.append("\n250 ENHANCEDSTATUSCODES");
        String ehloReply = ehlo.toString();
        return new ScriptedSmtpServer(bind, port, line -> {
            String cmd = line.toUpperCase();
            if (cmd.startsWith("EHLO") || cmd.startsWith("HELO")) {
                return ehloReply;
            }
            if (cmd.startsWith("RCPT")) {
                return rcpt.get();
            }
            if (cmd.equals("DATA")) {
                return "354 go ahead";
            }
            if (cmd.equals("QUIT")) {
                return "221 2.0.0 bye";
            }
            return "250 2.0.0 ok";
        });
    }

    public int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
