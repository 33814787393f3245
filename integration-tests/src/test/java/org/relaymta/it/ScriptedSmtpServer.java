package org.relaymta.it;

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

/**
 * A real socket server that answers SMTP commands from a script and records every line a client
 * sends: for upstreams no library server can imitate (a server that never offers STARTTLS, ...).
 */
final class ScriptedSmtpServer implements AutoCloseable {
    private final ServerSocket server;
    /** A script's answer for lines that get no reply (message content). */
    static final String NO_REPLY = "\u0000no-reply";
    final List<String> received = new CopyOnWriteArrayList<>();
    private final Thread thread;

    /** {@code script} maps a command line to the reply to send (CRLF added per line; null closes). */
    ScriptedSmtpServer(Function<String, String> script) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        thread = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    OutputStream out = s.getOutputStream();
                    out.write("220 scripted.test ESMTP\r\n".getBytes(StandardCharsets.UTF_8));
                    String line;
                    while ((line = in.readLine()) != null) {
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
                        if (line.equalsIgnoreCase("QUIT")) {
                            break;
                        }
                    }
                } catch (IOException e) {
                    // next connection
                }
            }
        }, "scripted-smtp");
        thread.setDaemon(true);
        thread.start();
    }

    int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
