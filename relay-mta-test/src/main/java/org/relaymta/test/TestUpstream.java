package org.relaymta.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * A capturing SMTP server (SubEthaSMTP) on a free port of 127.0.0.1, standing for the smarthost in an
 * application's tests, with the faults a real one has: it can reject recipients or messages, defer,
 * stall, drop the connection after the data, require STARTTLS or AUTH, and be down. As a JUnit 5
 * extension it starts before the tests and stops after them ({@code static} field: once per class;
 * instance field: per test).
 *
 * <pre>{@code
 * @RegisterExtension
 * static TestUpstream upstream = new TestUpstream();
 *
 * @DynamicPropertySource   // Spring Boot: point the relay at it
 * static void relay(DynamicPropertyRegistry r) {
 *     r.add("relaymta.default-relay-host", upstream::relayHost);
 * }
 *
 * upstream.rejectRecipient("nobody@example.com", "550 5.1.1 no such user");   // that recipient bounces
 * upstream.deferAll("451 4.3.0 try again later");                             // every message waits
 * upstream.stop();  ...  upstream.start();                                    // down, and back on the same port
 * upstream.heal();                                                            // no faults any more
 * }</pre>
 */
public final class TestUpstream extends Lifecycle implements AutoCloseable {
    /** One fault, as the relay meets it. */
    private record Reply(int code, String text) {
        static Reply parse(String reply) {
            String r = reply.strip();
            if (!r.matches("[245][0-9]{2} .*")) {
                throw new IllegalArgumentException("a reply is 'CODE text', such as '550 5.1.1 no such user': " + reply);
            }
            return new Reply(Integer.parseInt(r.substring(0, 3)), r.substring(4));
        }
    }

    private SMTPServer server;
    private int port;
    private final List<CapturedMessage> received = new CopyOnWriteArrayList<>();
    private final Map<String, Reply> rejectedRecipients = new ConcurrentHashMap<>();
    private volatile Reply atMail;
    private volatile Reply afterData;
    private volatile Duration stall = Duration.ZERO;
    private volatile boolean dropAfterData;
    private volatile SSLContext requiredTls;
    private volatile String[] requiredAuth;

    /** Starts it now (also done by the extension callbacks), on its port again after {@link #stop()}; returns this. */
    public synchronized TestUpstream start() {
        for (int attempt = 1; server == null; attempt++) {
            int p = port != 0 ? port : freePort();
            SMTPServer.Builder b = SMTPServer.port(p).bindAddress(InetAddress.getLoopbackAddress())
                    .messageHandlerFactory(this::handler).connectionTimeout(60, TimeUnit.SECONDS)
                    .maxMessageSize(100 * 1024 * 1024);   // 0 would refuse every SIZE= (SubEthaSMTP)
            if (requiredTls != null) {
                b.startTlsSocketFactory(requiredTls).requireTLS();
            }
            String[] auth = requiredAuth;
            if (auth != null) {
                b.authenticationHandlerFactory(new EasyAuthenticationHandlerFactory((user, password, context) -> {
                    if (!auth[0].equals(user) || !auth[1].equals(password)) {
                        throw new LoginFailedException("535 5.7.8 authentication failed");
                    }
                })).requireAuth();
            }
            SMTPServer s = b.build();
            try {
                s.start();
                server = s;
                port = p;
            } catch (RuntimeException e) {
                // Another process took the port between the probe and the bind: take another one (a fixed one waits).
                if (attempt >= 20 || !(e.getCause() instanceof BindException || e instanceof UncheckedIOException)) {
                    throw e;
                }
                if (port != 0) {
                    sleep(Duration.ofMillis(100));
                }
            }
        }
        return this;
    }

    /** Down: connections are refused until {@link #start()} (same port). What arrived stays. */
    public synchronized void stop() {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    /** The port it listens on, on 127.0.0.1. */
    public synchronized int port() {
        if (port == 0) {
            start();
        }
        return port;
    }

    /** The next hop to give the relay, in Postfix form: {@code [127.0.0.1]:PORT}. */
    public String relayHost() {
        return "[127.0.0.1]:" + port();
    }

    // ---------------------------------------------------------------- faults

    /** RCPT TO this address gets {@code reply} ({@code "550 5.1.1 no such user"}: a bounce; a 4xx: a deferral). */
    public TestUpstream rejectRecipient(String address, String reply) {
        rejectedRecipients.put(address.toLowerCase(Locale.ROOT), Reply.parse(reply));
        return this;
    }

    /** Every message gets {@code reply} after its data ({@code "554 5.7.1 spam"}: a bounce of the whole message). */
    public TestUpstream rejectMessages(String reply) {
        afterData = Reply.parse(reply);
        return this;
    }

    /** Every MAIL FROM gets {@code reply} ({@code "451 4.3.0 try again later"}): nothing is accepted, the mail waits. */
    public TestUpstream deferAll(String reply) {
        atMail = Reply.parse(reply);
        return this;
    }

    /** The reply to the data comes {@code delay} late (to test the relay's smtp_data_done_timeout, or a slow provider). */
    public TestUpstream stall(Duration delay) {
        stall = delay;
        return this;
    }

    /** After the data, the connection is closed with {@code 421} instead of {@code 250}: the message was not taken. */
    public TestUpstream dropAfterData() {
        dropAfterData = true;
        return this;
    }

    /** Offers STARTTLS with {@code serverContext} and refuses mail before it (restarts it when it runs). */
    public TestUpstream requireTls(SSLContext serverContext) {
        requiredTls = serverContext;
        restartIfRunning();
        return this;
    }

    /** Offers AUTH PLAIN/LOGIN and refuses mail without these credentials (restarts it when it runs). */
    public TestUpstream requireAuth(String user, String password) {
        requiredAuth = new String[] {user, password};
        restartIfRunning();
        return this;
    }

    /** No faults any more: takes every message again (TLS and AUTH requirements stay until {@link #close()}). */
    public TestUpstream heal() {
        rejectedRecipients.clear();
        atMail = null;
        afterData = null;
        stall = Duration.ZERO;
        dropAfterData = false;
        return this;
    }

    private synchronized void restartIfRunning() {
        if (server != null) {
            stop();
            start();
        }
    }

    private MessageHandler handler(MessageContext context) {
        return new MessageHandler() {
            private String from;
            private final List<String> recipients = new ArrayList<>();

            @Override
            public void from(String sender) throws RejectException {
                Reply r = atMail;
                if (r != null) {
                    throw new RejectException(r.code(), r.text());
                }
                from = sender;
            }

            @Override
            public void recipient(String recipient) throws RejectException {
                Reply r = rejectedRecipients.get(recipient.toLowerCase(Locale.ROOT));
                if (r != null) {
                    throw new RejectException(r.code(), r.text());
                }
                recipients.add(recipient);
            }

            @Override
            public String data(InputStream data) throws RejectException, IOException {
                byte[] bytes = data.readAllBytes();
                sleep(stall);
                if (dropAfterData) {
                    throw new DropConnectionException(421, "4.4.2 closing the connection");
                }
                Reply r = afterData;
                if (r != null) {
                    throw new RejectException(r.code(), r.text());
                }
                for (String rcpt : recipients) {
                    received.add(new CapturedMessage(from, rcpt, bytes));
                }
                return null;
            }

            @Override
            public void done() {
            }
        };
    }

    private static void sleep(Duration d) {
        if (d.isZero()) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- what arrived

    /** What it has received so far, one entry per recipient, in order of arrival. */
    public List<CapturedMessage> messages() {
        return List.copyOf(received);
    }

    /**
     * Waits until at least {@code count} messages (recipients) arrived and returns them all;
     * throws {@link AssertionError} naming what did arrive when {@code timeout} passes first.
     */
    public List<CapturedMessage> awaitMessages(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<CapturedMessage> now = messages();
            if (now.size() >= count) {
                return now;
            }
            if (System.nanoTime() >= deadline) {
                throw new AssertionError("expected " + count + " message(s) at the upstream within " + timeout + ", got "
                        + now.size() + ": " + now.stream().map(m -> m.recipient() + " '" + m.subject() + "'").toList());
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    /** Forgets what it received. */
    public void clear() {
        received.clear();
    }

    @Override
    public synchronized void close() {
        stop();
        requiredTls = null;
        requiredAuth = null;
        heal();
    }

    @Override
    void startIt() {
        start();
    }

    @Override
    void stopIt() {
        close();
    }

    /**
     * A port that is free now, from 20000-32000: below Linux's ephemeral range (32768-60999), so
     * that the relay's own outgoing connections (and their TIME_WAIT) never hold it.
     */
    public static int freePort() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 200; i++) {
            int port = 20000 + random.nextInt(12000);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port on loopback between 20000 and 32000"));
    }
}
