package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.SmtpTestClient;
import org.subethamail.wiser.Wiser;
import org.subethamail.wiser.WiserMessage;

/** Bad input on the listener, over raw sockets: each gets a clear reply, the relay keeps serving, nothing accepted is lost. */
class ListenerSecurityIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    private Wiser upstream;
    private RelayHarness relay;

    @BeforeEach
    void start() throws Exception {
        int port = RelayHarness.freePort();
        upstream = Wiser.port(port);
        upstream.start();
        relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port).mainCf("smtpd_timeout = 3s");
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.stop();
    }

    /** A new client still gets through after whatever the test did. */
    private void relayStillServes(String subject) throws Exception {
        int before = upstream.getMessages().size();
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.send("a@one.test", "bob@ext.test", "Subject: " + subject + "\r\n\r\nok\r\n")).startsWith("250 2.0.0");
        }
        relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
        assertThat(upstream.getMessages()).hasSize(before + 1);
    }

    @Test
    void noOpenRelayForClientsOutsideMynetworks() throws Exception {
        relay.env("MTA_MYNETWORKS", "192.0.2.0/24").start();
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<spammer@evil.test>")).startsWith("250");
            assertThat(c.command("RCPT TO:<victim@ext.test>")).isEqualTo("554 5.7.1 <victim@ext.test>: Relay access denied");
            assertThat(c.command("RCPT TO:<postmaster@one.test>")).startsWith("554 5.7.1");
            assertThat(c.command("RCPT TO:<\"x@ext.test\"@one.test>")).startsWith("554 5.7.1");
        }
        assertThat(relay.server.engine().queue().size()).isZero();
    }

    @Test
    void aClientThatKeepsGettingRefusedIsDisconnected() throws Exception {
        relay.env("MTA_MYNETWORKS", "192.0.2.0/24").mainCf("smtpd_hard_error_limit = 5").start();
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<spammer@evil.test>")).startsWith("250");
            for (int i = 0; i < 4; i++) {
                assertThat(c.command("RCPT TO:<v" + i + "@ext.test>")).startsWith("554 5.7.1");
            }
            assertThat(c.command("RCPT TO:<v5@ext.test>")).startsWith("421 4.7.0");
            assertThatThrownBy(() -> c.command("NOOP")).isInstanceOf(IOException.class);
        }
        relay.stop();
    }

    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n"})
    void smugglingVariantsNeverSplitAMessage(String sequence) throws Exception {
        relay.start();
        String content = "Subject: outer\r\n\r\nbefore" + sequence + "MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@ext.test>\r\n"
                + "DATA\r\nSubject: smuggled\r\n\r\nbad\r\n";
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.send("a@one.test", "bob@ext.test", content)).startsWith("250 2.0.0");
            assertThat(c.command("NOOP")).startsWith("250");
        }
        relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
        // A smuggled second message would follow on the same upstream session: stopping the relay ends it with QUIT.
        relay.stop();
        assertThat(upstream.getMessages()).hasSize(1);
        WiserMessage m = upstream.getMessages().get(0);
        assertThat(m.getEnvelopeReceiver()).isEqualTo("bob@ext.test");
        String data = new String(m.getData(), StandardCharsets.ISO_8859_1);
        assertThat(data).contains("MAIL FROM:<evil@x.test>", "Subject: smuggled").doesNotContainPattern("[^\r]\n")
                .doesNotContainPattern("\r[^\n]");
    }

    @Test
    void recipientLimitAnswers452AndKeepsTheAcceptedOnes() throws Exception {
        relay.mainCf("smtpd_recipient_limit = 1000").start();
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<a@one.test>")).startsWith("250");
            for (int i = 0; i < 1000; i++) {
                assertThat(c.command("RCPT TO:<r" + i + "@ext.test>")).startsWith("250");
            }
            // 100 over the limit: within smtpd_recipient_overshoot_limit, none counts as an error.
            for (int i = 1000; i < 1100; i++) {
                assertThat(c.command("RCPT TO:<r" + i + "@ext.test>")).isEqualTo("452 4.5.3 Error: too many recipients");
            }
            assertThat(c.data("Subject: many\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII))).startsWith("250 2.0.0");
        }
        long deadline = System.currentTimeMillis() + 30_000;
        while (upstream.getMessages().size() < 1000 && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        assertThat(upstream.getMessages()).hasSize(1000);
    }

    @Test
    void longLinesGarbageAndUnknownCommandsAreRefusedAndTheRelayKeepsServing() throws Exception {
        relay.start();
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            readReply(in);
            out.write(("NOOP " + "x".repeat(10 * 1024) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String reply = readReply(in);
            assertThat(reply).as("10 KB command line").matches("(5\\d\\d .*|<closed>)");
        }
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(5000);
            readReply(s.getInputStream());
            s.getOutputStream().write(new byte[] {0, 1, 2, (byte) 0xff, (byte) 0xfe, 'x', '\r', '\n'});
            assertThat(readReply(s.getInputStream())).as("binary garbage").matches("(5\\d\\d .*|<closed>)");
        }
        try (SmtpTestClient c = relay.client()) {
            assertThat(c.command("XYZZY")).startsWith("500");
            assertThat(c.command("RCPT TO:<b@ext.test>")).startsWith("503 5.5.1");
        }
        relayStillServes("after garbage");
    }

    @Test
    void aClientThatVanishesMidDataLeavesNothingBehind() throws Exception {
        relay.start();
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            startData(out, in);
            out.write("Subject: half\r\n\r\nonly part of it".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
        Thread.sleep(500);
        assertThat(relay.server.engine().queue().size()).isZero();
        try (var files = Files.list(relay.spoolDir.resolve("queue"))) {
            assertThat(files.count()).as("no partial file left in the spool").isZero();
        }
        relayStillServes("after vanish");
        assertThat(upstream.getMessages()).hasSize(1);
    }

    @Test
    void aSlowDripClientIsCutOffWith421() throws Exception {
        relay.start();
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            startData(out, in);
            String reply = null;
            long start = System.currentTimeMillis();
            try {
                while (System.currentTimeMillis() - start < 8000 && in.available() == 0) {
                    out.write('x');
                    out.flush();
                    Thread.sleep(250);
                }
                reply = readReply(in);
            } catch (IOException e) {
                reply = "<closed>";
            }
            assertThat(reply).startsWith("421 4.4.2");
            assertThat(System.currentTimeMillis() - start).isLessThan(8000);
        }
        assertThat(relay.server.engine().queue().size()).isZero();
        relayStillServes("after drip");
    }

    @Test
    void plaintextPipelinedAfterStartTlsIsDiscarded() throws Exception {
        relay.start();
        try (Socket plain = new Socket("127.0.0.1", relay.port())) {
            plain.setSoTimeout(5000);
            OutputStream out = plain.getOutputStream();
            InputStream in = plain.getInputStream();
            readReply(in);
            out.write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(in)).contains("STARTTLS");
            out.write("AUTH PLAIN AGEAYg==\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(in)).as("no password over plaintext").startsWith("538 5.7.11");
            // The injected MAIL must not survive into the TLS session.
            out.write("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(readReply(in)).startsWith("220");
            SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "localhost", relay.port(), true);
            tls.startHandshake();
            assertThat(tls.getSession().getProtocol()).isIn("TLSv1.2", "TLSv1.3");
            OutputStream tout = tls.getOutputStream();
            InputStream tin = tls.getInputStream();
            tout.write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(tin)).contains("AUTH");
            tout.write("RCPT TO:<b@ext.test>\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(tin)).as("no transaction was started by the injected MAIL").startsWith("503");
            tout.write("MAIL FROM:<a@one.test>\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(tin)).as("the TLS session itself works").startsWith("250");
        }
        relayStillServes("after starttls injection");
    }

    /** PIPELINING (RFC 2920): two whole transactions and QUIT in one write get their replies in order. */
    @Test
    void pipelinedTransactionsInOneWriteAreAnsweredInOrder() throws Exception {
        relay.start();
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            readReply(in);
            out.write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
            String ehlo = readReply(in);
            assertThat(ehlo).contains("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES").doesNotContain("AUTH");
            String one = "MAIL FROM:<a@one.test>\r\nRCPT TO:<b@ext.test>\r\nDATA\r\n";
            out.write((one + "Subject: p1\r\n\r\n..dot\r\n.\r\n" + one + "Subject: p2\r\n\r\nx\r\n.\r\nQUIT\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (int i = 0; i < 2; i++) {
                assertThat(readReply(in)).startsWith("250 2.1.0");
                assertThat(readReply(in)).startsWith("250 2.1.5");
                assertThat(readReply(in)).startsWith("354");
                assertThat(readReply(in)).matches("250 2\\.0\\.0 Ok: queued as [0-9A-F]+");
            }
            assertThat(readReply(in)).startsWith("221 2.0.0");
        }
        relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
        relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
        assertThat(upstream.getMessages()).hasSize(2);
        String first = new String(upstream.getMessages().stream().filter(m -> new String(m.getData(), StandardCharsets.ISO_8859_1)
                .contains("Subject: p1")).findFirst().orElseThrow().getData(), StandardCharsets.ISO_8859_1);
        assertThat(first).contains("\r\n.dot\r\n").doesNotContain("..dot");
    }

    /**
     * A client that pipelines a flood of commands (9 MB) before reading any reply: the relay pauses
     * reading whenever its unsent replies pass Netty's write-buffer mark and resumes as the client
     * reads; every reply arrives, in order, and the relay keeps serving.
     */
    @Test
    void aClientThatFloodsCommandsBeforeReadingGetsEveryReplyInOrder() throws Exception {
        relay.start();
        int commands = 1_500_000;
        try (Socket s = new Socket("127.0.0.1", relay.port())) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            readReply(in);
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    byte[] noop = "NOOP\r\n".getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < commands; i++) {
                        out.write(noop);
                    }
                    out.flush();
                } catch (IOException e) {
                    // the assertion on the replies reports it
                }
            });
            writer.start();
            writer.join(1000);
            BufferedReader replies = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (int i = 0; i < commands; i++) {
                assertThat(replies.readLine()).as("reply " + i).isEqualTo("250 2.0.0 Ok");
            }
            writer.join(10_000);
            assertThat(writer.isAlive()).isFalse();
        }
        relayStillServes("after a flood");
    }

    @Test
    void authWithBadBase64IsASyntaxError() throws Exception {
        relay.start();
        try (Socket plain = new Socket("127.0.0.1", relay.port())) {
            plain.setSoTimeout(5000);
            readReply(plain.getInputStream());
            plain.getOutputStream().write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
            readReply(plain.getInputStream());
            SSLSocket tls = startTls(plain, relay.port());
            tls.getOutputStream().write("EHLO x\r\nAUTH PLAIN %%%not-base64%%%\r\n".getBytes(StandardCharsets.US_ASCII));
            readReply(tls.getInputStream());
            assertThat(readReply(tls.getInputStream())).startsWith("501 5.5.2");
            tls.getOutputStream().write("AUTH PLAIN AHUAcA==\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(tls.getInputStream())).as("unknown user").startsWith("535 5.7.8");
        }
        relayStillServes("after bad auth");
    }

    /** Reads the greeting and goes as far as the 354 to DATA. */
    private static void startData(OutputStream out, InputStream in) throws IOException {
        readReply(in);
        for (String cmd : List.of("EHLO x", "MAIL FROM:<a@one.test>", "RCPT TO:<b@ext.test>", "DATA")) {
            out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            readReply(in);
        }
    }

    /** Trusts any certificate: the relay's own is self-signed. */
    static SSLContext trustAll() throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {
            }

            public void checkServerTrusted(X509Certificate[] c, String a) {
            }

            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return trustAll;
    }

    /** STARTTLS on a plaintext socket that has seen EHLO; trusts any certificate (the relay's is self-signed). */
    static SSLSocket startTls(Socket plain, int port) throws Exception {
        plain.getOutputStream().write("STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(readReply(plain.getInputStream())).startsWith("220");
        SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "localhost", port, true);
        tls.startHandshake();
        return tls;
    }

    static String readReply(InputStream in) throws IOException {
        StringBuilder reply = new StringBuilder();
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                String l = line.toString().replace("\r", "");
                reply.append(reply.length() > 0 ? "\n" : "").append(l);
                line.setLength(0);
                if (l.length() < 4 || l.charAt(3) == ' ') {
                    return reply.toString();
                }
            } else {
                line.append((char) c);
            }
        }
        return reply.length() > 0 ? reply.toString() : "<closed>";
    }
}
