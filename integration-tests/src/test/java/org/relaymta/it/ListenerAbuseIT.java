package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.net.ssl.SSLSocket;
import org.apache.commons.codec.digest.Crypt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;

/**
 * The listener on an open port, tried as an attacker would: floods of idle sessions from a few
 * addresses, parallel password guessing, telling users apart by response time. Loopback offers
 * many source addresses (127.0.0.x), so each attacker and the legitimate client have their own.
 */
class ListenerAbuseIT {
    @TempDir
    Path temp;
    private Wiser upstream;
    private RelayHarness relay;

    @BeforeEach
    void start() throws Exception {
        int port = RelayHarness.freePort();
        upstream = Wiser.port(port);
        upstream.start();
        relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + port);
        Files.write(relay.configDir.resolve("postfix-accounts.cf"), List.of(
                "alice@one.test|{SHA512-CRYPT}" + Crypt.crypt("alice-pw", "$6$abcdefgh")));
    }

    @AfterEach
    void stop() {
        relay.stop();
        upstream.stop();
    }

    private static Socket connectFrom(String source, int port) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(source, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(15_000);
        return s;
    }

    private static String say(OutputStream out, InputStream in, String line) throws Exception {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return ListenerSecurityIT.readReply(in);
    }

    /**
     * Two addresses take 16 of 20 sessions and sit idle: the listener is under stress, their idle
     * sessions get the 1 s stress timeout instead of 300 s, and a client from a third address is
     * served meanwhile and after.
     */
    @Test
    void aFloodFromTwoAddressesDoesNotLockOutAThird() throws Exception {
        relay.mainCf("default_process_limit = 20").mainCf("smtpd_client_connection_count_limit = 8")
                .mainCf("smtpd_timeout = ${stress?{1}:{300}}s").mainCf("mynetworks = 127.0.0.1/32").start();
        List<Socket> flood = new ArrayList<>();
        int refused = 0;
        for (String attacker : new String[] {"127.0.0.2", "127.0.0.3"}) {
            for (int i = 0; i < 10; i++) {
                Socket s = connectFrom(attacker, relay.port());
                String greeting = ListenerSecurityIT.readReply(s.getInputStream());
                if (greeting.startsWith("421")) {
                    assertThat(greeting).contains("too many connections from " + attacker);
                    refused++;
                    s.close();
                } else {
                    flood.add(s);
                }
            }
        }
        assertThat(flood).as("8 per address").hasSize(16);
        assertThat(refused).isEqualTo(4);
        try (Socket legit = connectFrom("127.0.0.1", relay.port())) {
            InputStream in = legit.getInputStream();
            OutputStream out = legit.getOutputStream();
            assertThat(ListenerSecurityIT.readReply(in)).startsWith("220");
            assertThat(say(out, in, "EHLO legit.test")).startsWith("250");
            assertThat(say(out, in, "MAIL FROM:<a@one.test>")).startsWith("250");
            assertThat(say(out, in, "RCPT TO:<b@ext.test>")).startsWith("250");
            assertThat(say(out, in, "DATA")).startsWith("354");
            assertThat(say(out, in, "Subject: served\r\n\r\nduring a flood\r\n.")).startsWith("250 2.0.0");
        }
        long closed = 0;
        for (Socket s : flood) {
            // Under stress an idle session ends after the stress timeout, not smtpd_timeout's 300 s.
            String last = ListenerSecurityIT.readReply(s.getInputStream());
            if (last.startsWith("421 4.4.2") || last.isEmpty()) {
                closed++;
            }
            s.close();
        }
        assertThat(closed).as("every idle flood session timed out").isEqualTo(16);
        assertThat(relay.nextEvent(Duration.ofSeconds(30)).recipient()).isEqualTo("b@ext.test");
    }

    /** A session through STARTTLS up to the reply to one AUTH PLAIN; returns the reply. */
    private static String authOnce(String source, int port, String user, String password, long[] nanos) throws Exception {
        try (Socket s = connectFrom(source, port)) {
            ListenerSecurityIT.readReply(s.getInputStream());
            say(s.getOutputStream(), s.getInputStream(), "EHLO guesser.test");
            SSLSocket tls = ListenerSecurityIT.startTls(s, port);
            say(tls.getOutputStream(), tls.getInputStream(), "EHLO guesser.test");
            String token = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
            long t0 = System.nanoTime();
            String reply = say(tls.getOutputStream(), tls.getInputStream(), "AUTH PLAIN " + token);
            if (nanos != null) {
                nanos[0] = System.nanoTime() - t0;
            }
            return reply;
        }
    }

    /** 48 parallel sessions from one address guessing passwords share one budget of failures. */
    @Test
    void parallelGuessesFromOneAddressShareOneFailureBudget() throws Exception {
        relay.mainCf("smtpd_error_sleep_time = 0s").start();
        ExecutorService pool = Executors.newFixedThreadPool(48);
        List<Future<String>> replies = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            int n = i;
            replies.add(pool.submit(() -> authOnce("127.0.0.5", relay.port(), "alice@one.test", "guess-" + n, null)));
        }
        int wrong = 0;
        int refused = 0;
        for (Future<String> f : replies) {
            String r = f.get();
            if (r.startsWith("535 5.7.8")) {
                wrong++;
            } else if (r.startsWith("421 4.7.0")) {
                refused++;
            }
        }
        pool.shutdown();
        assertThat(wrong).as("passwords actually checked").isEqualTo(10);
        assertThat(refused).isEqualTo(38);
        assertThat(authOnce("127.0.0.5", relay.port(), "alice@one.test", "alice-pw", null))
                .as("even the right password waits out the window").startsWith("421 4.7.0");
        assertThat(authOnce("127.0.0.6", relay.port(), "alice@one.test", "alice-pw", null))
                .as("another address is not affected").startsWith("235");
    }

    /**
     * An unknown user costs the same hashing as a known one: the median AUTH round trip over 100
     * attempts each (from 200 addresses, one failure each, so no budget or delay interferes).
     */
    @Test
    void knownAndUnknownUsersCannotBeToldApartByResponseTime() throws Exception {
        relay.mainCf("smtpd_error_sleep_time = 0s").start();
        List<Long> known = new ArrayList<>();
        List<Long> unknown = new ArrayList<>();
        long[] t = new long[1];
        for (int i = 0; i < 100; i++) {
            assertThat(authOnce("127.0.1." + (i + 1), relay.port(), "alice@one.test", "wrong", t)).startsWith("535");
            known.add(t[0]);
            assertThat(authOnce("127.0.2." + (i + 1), relay.port(), "nobody@one.test", "wrong", t)).startsWith("535");
            unknown.add(t[0]);
        }
        known.sort(null);
        unknown.sort(null);
        double ratio = (double) unknown.get(50) / known.get(50);
        assertThat(ratio).as("median unknown %d us / known %d us", unknown.get(50) / 1000, known.get(50) / 1000)
                .isBetween(0.7, 1.4);
    }
}
