package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.RelaySettings;
import org.subethamail.wiser.Wiser;

/**
 * A Jakarta Mail session made from properties alone, as the README shows: with
 * {@code mail.transport.protocol=relaymta}, {@code Transport.send} reaches the relay whichever of
 * this library and Angus comes first on the classpath; every other session keeps plain SMTP.
 */
class JakartaMailPropertiesIT {
    @TempDir
    Path temp;

    private Wiser smarthost;
    private Wiser localMta;

    @BeforeEach
    void upstreams() throws Exception {
        smarthost = Wiser.port(RelayHarness.freePort());
        smarthost.start();
        localMta = Wiser.port(RelayHarness.freePort());   // stands for a Postfix on localhost:25
        localMta.start();
    }

    @AfterEach
    void stop() {
        smarthost.stop();
        localMta.stop();
    }

    private RelayEngine engine(Path spool) throws Exception {
        return RelayEngine.builder().spoolDirectory(spool)
                .settings(RelaySettings.defaults().defaultRelayHost("[127.0.0.1]:" + smarthost.getServer().getPortAllocated())
                        .hostname("app.test"))
                .build().start();
    }

    private MimeMessage message(Session session, String subject) throws MessagingException {
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress("app@example.test"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress("user@example.org"));
        m.setSubject(subject);
        m.setText("hello");
        return m;
    }

    private Properties readmeProperties() {
        // Exactly the README's properties, plus where a local SMTP server would be.
        Properties p = new Properties();
        p.setProperty("mail.transport.protocol", "relaymta");
        p.setProperty("mail.smtp.host", "127.0.0.1");
        p.setProperty("mail.smtp.port", String.valueOf(localMta.getServer().getPortAllocated()));
        return p;
    }

    private static void awaitMessages(Wiser wiser, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (wiser.getMessages().size() < count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(wiser.getMessages()).hasSize(count);
    }

    @Test
    void transportSendWithOnlyTheProtocolPropertyGoesThroughTheRelay() throws Exception {
        try (RelayEngine relay = engine(temp.resolve("spool"))) {
            Session session = Session.getInstance(readmeProperties());
            Transport.send(message(session, "by properties"));
            assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
            awaitMessages(smarthost, 1);
            assertThat(new String(smarthost.getMessages().get(0).getData(), StandardCharsets.UTF_8)).contains("Subject: by properties");
            assertThat(localMta.getMessages()).as("nothing bypasses the relay").isEmpty();
        }
    }

    @Test
    void sessionsThatDoNotAskForTheRelayKeepAngusSmtp() throws Exception {
        try (RelayEngine relay = engine(temp.resolve("spool"))) {
            Properties p = readmeProperties();
            p.remove("mail.transport.protocol");
            Session session = Session.getInstance(p);
            assertThat(session.getTransport(new InternetAddress("user@example.org"))).isInstanceOf(SMTPTransport.class);
            Transport.send(message(session, "plain smtp"));
            awaitMessages(localMta, 1);
            assertThat(relay.queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
            assertThat(smarthost.getMessages()).isEmpty();
        }
    }

    @Test
    void theSpoolPropertyPicksOneOfSeveralRelaysAndNoneRunningIsAClearError() throws Exception {
        Properties p = readmeProperties();
        assertThatThrownBy(() -> Transport.send(message(Session.getInstance(p), "no relay")))
                .isInstanceOf(MessagingException.class).hasMessageContaining("no relay is running in this JVM");
        try (RelayEngine one = engine(temp.resolve("one")); RelayEngine two = engine(temp.resolve("two"))) {
            assertThatThrownBy(() -> Transport.send(message(Session.getInstance(p), "two relays")))
                    .hasMessageContaining("2 relays are running").hasMessageContaining("mail.relaymta.spool");
            p.setProperty("mail.relaymta.spool", temp.resolve("two").toString());
            Transport.send(message(Session.getInstance(p), "to two"));
            assertThat(two.queue().awaitEmpty(Duration.ofSeconds(20))).isTrue();
            awaitMessages(smarthost, 1);
            assertThat(localMta.getMessages()).isEmpty();
        }
    }

    @Test
    void eitherClasspathOrderReachesTheRelay() throws Exception {
        String[] entries = System.getProperty("java.class.path").split(File.pathSeparator);
        List<String> angusFirst = new ArrayList<>();
        List<String> angusLast = new ArrayList<>();
        for (String e : entries) {
            (e.contains("angus-mail") ? angusFirst : angusLast).add(e);
        }
        List<String> order1 = new ArrayList<>(angusFirst);
        order1.addAll(angusLast);                  // Angus before this library
        List<String> order2 = new ArrayList<>(angusLast);
        order2.addAll(angusFirst);                 // this library before Angus
        assertThat(angusFirst).as("angus-mail on the test classpath").isNotEmpty();
        int n = 0;
        for (List<String> order : List.of(order1, order2)) {
            n++;
            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", String.join(File.pathSeparator, order), PropertiesSender.class.getName(),
                    temp.resolve("order" + n).toString(), String.valueOf(smarthost.getServer().getPortAllocated()),
                    String.valueOf(localMta.getServer().getPortAllocated()))
                    .redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as(output).isZero();
            assertThat(output).contains("queue empty");
            awaitMessages(smarthost, n);
            assertThat(localMta.getMessages()).as(Arrays.toString(order.toArray())).isEmpty();
        }
    }

    /** The application of {@link #eitherClasspathOrderReachesTheRelay}, run in its own JVM. */
    public static final class PropertiesSender {
        public static void main(String[] args) throws Exception {
            try (RelayEngine relay = RelayEngine.builder().spoolDirectory(Path.of(args[0]))
                    .settings(RelaySettings.defaults().defaultRelayHost("[127.0.0.1]:" + args[1]).hostname("app.test"))
                    .build().start()) {
                Properties p = new Properties();
                p.setProperty("mail.transport.protocol", "relaymta");
                p.setProperty("mail.smtp.host", "127.0.0.1");
                p.setProperty("mail.smtp.port", args[2]);
                Session session = Session.getInstance(p);
                MimeMessage m = new MimeMessage(session);
                m.setFrom(new InternetAddress("app@example.test"));
                m.setRecipient(Message.RecipientType.TO, new InternetAddress("user@example.org"));
                m.setSubject("order");
                m.setText("hello");
                Transport.send(m);
                System.out.println(relay.queue().awaitEmpty(Duration.ofSeconds(30)) ? "queue empty" : "still queued");
            }
        }
    }
}
