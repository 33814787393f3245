package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.ScriptedSmtpServer;
import org.relaymta.testing.SmtpTestClient;
import org.relaymta.testing.TestCertificates;
import org.relaymta.testing.TestDnsServer;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/** Direct MX delivery through a real DNS server on loopback, failover, TLS levels and protocol extensions. */
class DeliveryEngineIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path temp;

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void mxOrderFailoverToTheNextMxAndImplicitMx() throws Exception {
        int port = RelayHarness.freePort();
        Wiser second = Wiser.create(SMTPServer.port(port).bindAddress(ip("127.0.0.3")));
        second.start();
        try (TestDnsServer dns = new TestDnsServer()
                .mx("ext.test", "20 mx2.ext.test", "10 mx1.ext.test")
                .address("mx1.ext.test", "127.0.0.2")
                .address("mx2.ext.test", "127.0.0.3")
                .address("implicit.test", "127.0.0.3");
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), port).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("", "bob@ext.test", "Subject: mx\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            // mx1 (preference 10, nothing listening on 127.0.0.2) was tried first, then mx2.
            assertThat(e.relay()).isEqualTo("mx2.ext.test[127.0.0.3]:" + port);

            assertThat(client.send("", "carol@implicit.test", "Subject: implicit\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent implicit = relay.nextEvent(WAIT);
            assertThat(implicit.status()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(implicit.relay()).isEqualTo("implicit.test[127.0.0.3]:" + port);
            assertThat(second.getMessages()).hasSize(2);
        } finally {
            second.stop();
        }
    }

    @Test
    void nullMxAndNxdomainBounceAtOnceServfailDefers() throws Exception {
        try (TestDnsServer dns = new TestDnsServer().mx("nullmx.test", "0 .").servfail("broken.test");
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), RelayHarness.freePort()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("", "bob@nullmx.test", "Subject: a\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent nullMx = relay.nextEvent(WAIT);
            assertThat(nullMx.status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(nullMx.dsn()).isEqualTo("5.1.10");
            assertThat(nullMx.reason()).contains("nullMX");

            assertThat(client.send("", "bob@nowhere.test", "Subject: b\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent nx = relay.nextEvent(WAIT);
            assertThat(nx.status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(nx.dsn()).isEqualTo("5.4.4");
            assertThat(nx.reason()).contains("Host or domain name not found", "name=nowhere.test type=MX");

            assertThat(client.send("", "bob@broken.test", "Subject: c\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent servfail = relay.nextEvent(WAIT);
            assertThat(servfail.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(servfail.dsn()).isEqualTo("4.4.3");
        }
    }

    @Test
    void aTemporaryFailureAtTheFirstHostIsRetriedAtTheNext() throws Exception {
        int port = RelayHarness.freePort();
        try (ScriptedSmtpServer busy = ScriptedSmtpServer.accepting(ip("127.0.0.2"), port, () -> "451 4.3.2 busy");
             ScriptedSmtpServer good = ScriptedSmtpServer.accepting(ip("127.0.0.3"), port, () -> "250 2.1.5 ok");
             TestDnsServer dns = new TestDnsServer().mx("ext.test", "10 a.ext.test", "20 b.ext.test")
                     .address("a.ext.test", "127.0.0.2").address("b.ext.test", "127.0.0.3");
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), port).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: x\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.relay()).startsWith("b.ext.test[127.0.0.3]");
            assertThat(busy.received).anyMatch(l -> l.startsWith("RCPT TO:<bob@ext.test>"));
            assertThat(good.content).contains("Subject: x");
        }
    }

    @Test
    void fallbackRelayIsTriedAfterTheRelayHostAndABrokenRelayhostDefers435() throws Exception {
        int port = RelayHarness.freePort();
        Wiser fallback = Wiser.port(port);
        fallback.start();
        try (TestDnsServer dns = new TestDnsServer();
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), 25)
                     .env("DEFAULT_RELAY_HOST", "[no-such-relay.test]:587")
                     .mainCf("smtp_fallback_relay = [127.0.0.1]:" + port).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: fb\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.relay()).isEqualTo("127.0.0.1[127.0.0.1]:" + port);
        } finally {
            fallback.stop();
        }
        try (TestDnsServer dns = new TestDnsServer();
             RelayHarness relay = new RelayHarness(temp.resolve("b")).dns(dns.address(), 25)
                     .env("DEFAULT_RELAY_HOST", "[no-such-relay.test]:587").start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: broken\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            // Postfix's safety net: a misconfigured relayhost defers instead of bouncing everything.
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.3.5");
            assertThat(e.reason()).contains("relayhost configuration problem", "no-such-relay.test");
        }
    }

    @Test
    void heloIsUsedWhenEhloIsRefused() throws Exception {
        try (ScriptedSmtpServer old = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase();
                if (cmd.startsWith("EHLO")) {
                    return "502 5.5.2 Error: command not recognized";
                }
                if (cmd.startsWith("HELO")) {
                    return "250 scripted.test";
                }
                if (cmd.equals("DATA")) {
                    return "354 go ahead";
                }
                if (cmd.equals("QUIT")) {
                    return "221 bye";
                }
                return "250 ok";
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + old.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: old\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(old.received).anyMatch(l -> l.startsWith("HELO relay.test"));
            assertThat(old.received).noneMatch(l -> l.startsWith("STARTTLS"));
        }
    }

    /**
     * Messages after the first ride the cached session (no new connection, no EHLO). A refusal met
     * on the cached session is handled like any other: the recipient bounces, nothing is lost, and
     * the next message goes through on the same session (the pipelined DATA the server accepted after
     * refusing the only recipient was ended with an empty message, RFC 2920 3.1, or the next MAIL
     * would have been read as content).
     */
    @Test
    void aCachedSessionCarriesTheNextMessagesAndARefusalOnItIsHandled() throws Exception {
        try (ScriptedSmtpServer upstream = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase();
                if (cmd.startsWith("EHLO")) {
                    return "250-scripted.test\n250-PIPELINING\n250 ENHANCEDSTATUSCODES";
                }
                if (cmd.startsWith("RCPT")) {
                    return cmd.contains("SECOND") ? "550 5.1.1 <second@ext.test>: no such user" : "250 2.1.5 ok";
                }
                return cmd.equals("DATA") ? "354 go ahead" : cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "first@ext.test", "Subject: 1\r\n\r\nx\r\n")).startsWith("250");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            // The null sender: the bounce is not sent anywhere, so the upstream sees only our four messages.
            assertThat(client.send("", "second@ext.test", "Subject: 2\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent refused = relay.nextEvent(WAIT);
            assertThat(refused.status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(refused.dsn()).isEqualTo("5.1.1");
            assertThat(refused.reason()).contains("no such user");
            for (String rcpt : new String[] {"third@ext.test", "fourth@ext.test"}) {
                assertThat(client.send("a@one.test", rcpt, "Subject: " + rcpt + "\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent sent = relay.nextEvent(WAIT);
                assertThat(sent.status()).isEqualTo(DeliveryEvent.Status.SENT);
                assertThat(sent.recipient()).isEqualTo(rcpt);
            }
            assertThat(upstream.received.stream().filter(l -> l.toUpperCase().startsWith("EHLO")))
                    .as("one session carries all four messages; the refusal leaves it clean").hasSize(1);
            assertThat(upstream.received.stream().filter(l -> l.startsWith("MAIL FROM"))).hasSize(4);
            assertThat(relay.server.engine().queue().size()).isZero();
        }
    }

    @Test
    void aMessageOverTheServersSizeBouncesWithoutBeingSent() throws Exception {
        try (ScriptedSmtpServer small = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0,
                () -> "250 ok", "SIZE 100");
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + small.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("", "bob@ext.test", "Subject: big\r\n\r\n" + "x".repeat(300) + "\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.BOUNCED);
            assertThat(e.dsn()).isEqualTo("5.3.4");
            assertThat(small.received).noneMatch(l -> l.startsWith("MAIL"));
        }
    }

    @Test
    void eightBitContentIsDeclaredAndNeverSentToAServerWithout8bitmime() throws Exception {
        String body = "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n";
        try (ScriptedSmtpServer old = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 ok");
             ScriptedSmtpServer modern = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0, () -> "250 ok",
                     "8BITMIME", "PIPELINING");
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + old.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", body)).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.6.3");
            assertThat(old.received).noneMatch(l -> l.startsWith("MAIL"));
            assertThat(old.content).isEmpty();

            Files.writeString(relay.configDir.resolve("postfix-relaymap.cf"), "@one.test [127.0.0.1]:" + modern.port() + "\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> relay.server.scrapeMetrics()
                    .contains("mta_config_reloads_total{result=\"ok\"} 1.0"));
            relay.server.engine().queue().flush();
            DeliveryEvent sent = relay.nextEvent(DeliveryEvent.Status.SENT, WAIT);
            assertThat(sent.relay()).endsWith(":" + modern.port());
            assertThat(modern.received).anyMatch(l -> l.startsWith("MAIL FROM:<a@one.test>") && l.contains("BODY=8BITMIME"));
            assertThat(String.join("\n", modern.content).getBytes(StandardCharsets.ISO_8859_1))
                    .containsSubsequence("d\u00e9j\u00e0 vu".getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void verifyTrustsACaFileAndRejectsAnUntrustedCertificate() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned("localhost");
        Path ca = temp.resolve("ca.pem");
        Files.writeString(ca, pki.caPem());
        int port = RelayHarness.freePort();
        Wiser trusted = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getLoopbackAddress())
                .startTlsSocketFactory(pki.serverContext()).requireTLS());
        trusted.start();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[localhost]:" + port)
                .mainCf("smtp_tls_security_level = verify").mainCf("smtp_tls_CAfile = " + ca).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: verified\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tls()).startsWith("TLSv1.");
        } finally {
            trusted.stop();
        }

        SSLContext selfSigned = TestCertificates.selfSignedServerContext("localhost");
        Wiser untrusted = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getLoopbackAddress())
                .startTlsSocketFactory(selfSigned).requireTLS());
        untrusted.start();
        try (RelayHarness relay = new RelayHarness(temp.resolve("second")).env("DEFAULT_RELAY_HOST", "[localhost]:" + port)
                .mainCf("smtp_tls_security_level = verify").mainCf("smtp_tls_CAfile = " + ca).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: untrusted\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(untrusted.getMessages()).isEmpty();
        } finally {
            untrusted.stop();
        }
    }

    @Test
    void secureRequiresTheNextHopNameInTheCertificate() throws Exception {
        TestCertificates.Pki pki = TestCertificates.caSigned("other.test");
        Path ca = temp.resolve("ca.pem");
        Files.writeString(ca, pki.caPem());
        int port = RelayHarness.freePort();
        Wiser wiser = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getLoopbackAddress())
                .startTlsSocketFactory(pki.serverContext()).requireTLS());
        wiser.start();
        try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[localhost]:" + port)
                .mainCf("smtp_tls_security_level = secure").mainCf("smtp_tls_CAfile = " + ca).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: s\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.dsn()).isEqualTo("4.7.5");
            assertThat(wiser.getMessages()).isEmpty();
        } finally {
            wiser.stop();
        }
    }

    @Test
    void opportunisticTlsRetriesInPlaintextAfterAFailedHandshake() throws Exception {
        AtomicInteger sessions = new AtomicInteger();
        try (ScriptedSmtpServer broken = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase();
                if (cmd.startsWith("EHLO")) {
                    sessions.incrementAndGet();
                    return "250-scripted.test\n250-STARTTLS\n250 8BITMIME";
                }
                if (cmd.equals("STARTTLS")) {
                    return "220 2.0.0 ready";
                }
                if (cmd.equals("DATA")) {
                    return "354 go ahead";
                }
                if (cmd.equals("QUIT")) {
                    return "221 bye";
                }
                if (cmd.startsWith("MAIL") || cmd.startsWith("RCPT") || cmd.startsWith("RSET")) {
                    return "250 2.0.0 ok";
                }
                return null; // the TLS ClientHello: hang up, as a broken TLS stack would
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + broken.port()).start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: plain\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
            assertThat(e.tls()).isEmpty();
            assertThat(sessions.get()).isEqualTo(2);
            assertThat(broken.received.stream().filter(l -> l.equals("STARTTLS"))).hasSize(1);
        }
    }

    @Test
    void bytesAfterTheStartTlsReplyAbortTheSession() throws Exception {
        try (ScriptedSmtpServer injecting = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase();
                if (cmd.startsWith("EHLO")) {
                    return "250-scripted.test\n250 STARTTLS";
                }
                if (cmd.equals("STARTTLS")) {
                    return "220 2.0.0 ready\n250-injected\n250 AUTH PLAIN";
                }
                return "250 ok";
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + injecting.port())
                     .mainCf("smtp_tls_security_level = encrypt").start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("a@one.test", "bob@ext.test", "Subject: x\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.reason()).contains("response injection");
            assertThat(injecting.received).noneMatch(l -> l.startsWith("MAIL") || l.startsWith("AUTH"));
        }
    }

    @Test
    void aServerThatStallsAfterTheFinalDotIsGivenUpAfterDataDoneTimeoutNotTheSum() throws Exception {
        CountDownLatch dotSeen = new CountDownLatch(1);
        try (ServerSocket upstream = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                try (Socket s = upstream.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(
                            s.getInputStream(), StandardCharsets.ISO_8859_1));
                    OutputStream out = s.getOutputStream();
                    out.write("220 stall.test ESMTP\r\n".getBytes());
                    String line;
                    boolean data = false;
                    while ((line = in.readLine()) != null) {
                        if (data) {
                            if (line.equals(".")) {
                                dotSeen.countDown(); // and never answer
                            }
                            continue;
                        }
                        String reply = line.startsWith("EHLO") ? "250 stall.test" : line.equals("DATA") ? "354 go" : "250 ok";
                        data = line.equals("DATA");
                        out.write((reply + "\r\n").getBytes());
                    }
                } catch (IOException ignored) {
                    // the relay hung up, as it should
                }
            });
            server.setDaemon(true);
            server.start();
            try (RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.getLocalPort())
                    .mainCf("smtp_data_done_timeout = 1s").mainCf("smtp_data_xfer_timeout = 60s").start();
                 SmtpTestClient client = relay.client()) {
                assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: stall\r\n\r\nx\r\n")).startsWith("250");
                assertThat(dotSeen.await(10, TimeUnit.SECONDS)).isTrue();
                // The sum of the two timeouts would be 61 s.
                DeliveryEvent e = relay.nextEvent(Duration.ofSeconds(15));
                assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
                assertThat(e.reason()).contains("timed out while sending end of data -- message may be sent more than once");
            }
        }
    }

    @Test
    void aLineLongerThan998BytesArrivesFoldedAndUnfoldsToTheOriginal() throws Exception {
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.accepting(InetAddress.getLoopbackAddress(), 0,
                () -> "250 2.1.5 ok", "8BITMIME");
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port()).start();
             SmtpTestClient client = relay.client()) {
            String longLine = "a".repeat(1500) + ".b" + "c".repeat(498);
            // Sent dot-stuffed (the test client sends raw bytes): the message's line is ".starts with a dot".
            String body = "Subject: long line\r\n\r\n" + longLine + "\r\n..starts with a dot\r\n";
            assertThat(client.send("alice@one.test", "bob@ext.test", body)).startsWith("250");
            assertThat(relay.nextEvent(WAIT).status()).isEqualTo(DeliveryEvent.Status.SENT);
            List<String> lines = upstream.content;
            assertThat(lines).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(998));
            // The relay adds its Received: header first; the message follows it.
            String received = String.join("\r\n", lines);
            String unfolded = received.replace("\r\n ", "");
            assertThat(unfolded).endsWith("Subject: long line\r\n\r\n" + longLine + "\r\n..starts with a dot");
        }
    }

    @Test
    void aRejectedAuthEndsTheSessionWithQuit() throws Exception {
        try (ScriptedSmtpServer upstream = new ScriptedSmtpServer(line -> {
                String cmd = line.toUpperCase(Locale.ROOT);
                if (cmd.startsWith("EHLO")) {
                    return "250-scripted.test\n250 AUTH PLAIN LOGIN";
                }
                if (cmd.startsWith("AUTH")) {
                    return "535 5.7.8 Authentication credentials invalid";
                }
                return cmd.equals("QUIT") ? "221 2.0.0 bye" : "250 2.0.0 ok";
            });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())
                     .env("RELAY_USER", "u").env("RELAY_PASSWORD", "wrong").mainCf("smtp_tls_security_level = none").start();
             SmtpTestClient client = relay.client()) {
            assertThat(client.send("alice@one.test", "bob@ext.test", "Subject: auth\r\n\r\nx\r\n")).startsWith("250");
            DeliveryEvent e = relay.nextEvent(WAIT);
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
            assertThat(e.reason()).contains("535 5.7.8");
            assertThat(upstream.received).anySatisfy(l -> assertThat(l).startsWith("AUTH PLAIN"));
            assertThat(upstream.received.get(upstream.received.size() - 1)).isEqualTo("QUIT");
            assertThat(relay.server.scrapeMetrics()).contains("mta_smtp_sessions_total{direction=\"out\",result=\"auth_failed\"} 1.0");
        }
    }

    /** A server that answers every connection with a 421 greeting and hangs up, and counts them. */
    private static final class GreetingRefuser implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger connections = new AtomicInteger();

        GreetingRefuser(InetAddress bind, int port) throws IOException {
            socket = new ServerSocket(port, 50, bind);
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        connections.incrementAndGet();
                        s.getOutputStream().write("421 4.7.0 Too many connections, try later\r\n".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void aServerRefusingAtTheGreetingIsNotHammeredByEveryQueuedMessage() throws Exception {
        try (GreetingRefuser upstream = new GreetingRefuser(InetAddress.getLoopbackAddress(), 0);
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())
                     .mainCf("minimal_backoff_time = 300s").mainCf("maximal_backoff_time = 4000s").start();
             SmtpTestClient client = relay.client()) {
            for (int i = 0; i < 50; i++) {
                assertThat(client.send("alice@one.test", "r" + i + "@ext.test", "Subject: " + i + "\r\n\r\nx\r\n"))
                        .startsWith("250");
            }
            int suspended = 0;
            for (int i = 0; i < 50; i++) {
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e.status()).isEqualTo(DeliveryEvent.Status.DEFERRED);
                assertThat(e.reason()).contains("421 4.7.0 Too many connections");
                if (e.reason().startsWith("delivery temporarily suspended")) {
                    suspended++;
                }
            }
            // Only the deliveries already under way when the first refusal came back connected.
            assertThat(upstream.connections.get()).as("connections for 50 queued messages").isLessThanOrEqualTo(10);
            assertThat(suspended).isGreaterThanOrEqualTo(40);
            assertThat(relay.server.scrapeMetrics()).contains("mta_smtp_sessions_total{direction=\"out\",result=\"refused\"}");
        }
    }

    @Test
    void aFailingFirstMxIsTriedLastAfterItsFirstFailure() throws Exception {
        int port = RelayHarness.freePort();
        Wiser second = Wiser.create(SMTPServer.port(port).bindAddress(ip("127.0.0.3")));
        second.start();
        try (GreetingRefuser first = new GreetingRefuser(ip("127.0.0.2"), port);
             TestDnsServer dns = new TestDnsServer()
                .mx("ext.test", "10 mx1.ext.test", "20 mx2.ext.test")
                .address("mx1.ext.test", "127.0.0.2")
                .address("mx2.ext.test", "127.0.0.3");
             RelayHarness relay = new RelayHarness(temp).dns(dns.address(), port)
                     .mainCf("smtp_connection_cache_time_limit = 0s").start();
             SmtpTestClient client = relay.client()) {
            for (int i = 0; i < 3; i++) {
                assertThat(client.send("", "bob@ext.test", "Subject: mx " + i + "\r\n\r\nx\r\n")).startsWith("250");
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
                assertThat(e.relay()).isEqualTo("mx2.ext.test[127.0.0.3]:" + port);
            }
            assertThat(first.connections.get()).as("mx1 tried once, then after mx2").isEqualTo(1);
            assertThat(second.getMessages()).hasSize(3);
        } finally {
            second.stop();
        }
    }
}
