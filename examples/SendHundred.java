import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.RelaySettings;
import org.relaymta.core.RelayEngine;

/**
 * Queues 100 messages through a smarthost with the embedded relay and prints each delivery event.
 *
 *   java -cp mta-server/target/mta-server-0.1.0-SNAPSHOT-all.jar examples/SendHundred.java \
 *        '[smtp.example.com]:587' [user password]
 *
 * Transport.send returns as soon as a message is durable in ./example-spool; the relay delivers,
 * retries and bounces in the background. Run it again after a failure: the spool is kept.
 */
public class SendHundred {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SendHundred SMARTHOST [USER PASSWORD]   (SMARTHOST like [127.0.0.1]:2626)");
            System.exit(2);
        }
        RelaySettings settings = RelaySettings.defaults().defaultRelayHost(args[0]).hostname("example.test")
                .backoff(Duration.ofSeconds(5), Duration.ofSeconds(60));
        if (args.length >= 3) {
            settings.credentials(args[1], args[2]);
        }
        int count = 100;
        CountDownLatch done = new CountDownLatch(count);
        try (RelayEngine relay = RelayEngine.builder()
                .spoolDirectory(Path.of("example-spool"))
                .settings(settings)
                .listener(event -> {
                    System.out.println(event.status() + " " + event.queueId() + " " + event.recipient() + " via "
                            + event.relay() + " dsn=" + event.dsn() + " (" + event.reason() + ")");
                    if (event.status() != org.relaymta.core.queue.DeliveryEvent.Status.DEFERRED) {
                        done.countDown();
                    }
                })
                .build().start()) {
            Session session = relay.mailSession();
            for (int i = 1; i <= count; i++) {
                MimeMessage m = new MimeMessage(session);
                m.setFrom(new InternetAddress("app@example.test"));
                m.setRecipient(Message.RecipientType.TO, new InternetAddress("user" + i + "@example.org"));
                m.setSubject("Message " + i + " of " + count);
                m.setText("Sent through the embedded Relay MTA.");
                Transport.send(m);
            }
            System.out.println("queued " + count + " messages; waiting for their delivery (Ctrl-C leaves the rest queued)");
            if (!done.await(5, TimeUnit.MINUTES)) {
                System.out.println((count - done.getCount()) + " of " + count + " delivered so far; the rest stays in example-spool");
            }
        }
    }
}
