package org.relaymta.examples.mail;

import jakarta.mail.Session;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.relaymta.core.RelaySettings;
import org.relaymta.core.RelayEngine;

/**
 * Sends order confirmations through the embedded relay:
 * {@code java -jar target/order-mailer.jar SMARTHOST [USER PASSWORD] CUSTOMER...}, for example
 * {@code java -jar target/order-mailer.jar '[127.0.0.1]:2626' alice@example.org}.
 * Mail is durable in {@code ./data/spool} when {@code Transport.send} returns; the relay delivers
 * it, and what it could not deliver yet stays there for the next run.
 */
public final class App {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: order-mailer SMARTHOST [USER PASSWORD] CUSTOMER...");
            System.exit(2);
        }
        String smarthost = args[0];
        boolean auth = args.length >= 4 && !args[1].contains("@");
        String user = auth ? args[1] : null;
        String password = auth ? args[2] : null;
        int first = auth ? 3 : 1;

        // README:begin
        RelaySettings settings = RelaySettings.defaults()
                .defaultRelayHost(smarthost);                      // "[email-smtp.eu-west-1.amazonaws.com]:587"
        if (user != null) {
            settings.credentials(user, password);                  // TLS "encrypt" + AUTH, as in docker-mailserver
        }
        try (RelayEngine relay = RelayEngine.builder()
                .spoolDirectory(Path.of("data/spool"))
                .settings(settings)
                .listener(event -> System.out.println(event.logLine()))   // sent, deferred, bounced, expired
                .build().start()) {
            Properties props = new Properties();
            props.setProperty("mail.transport.protocol", "relaymta");     // the one property the relay needs
            Session session = Session.getInstance(props);
            OrderMailer mailer = new OrderMailer(session);                // plain Jakarta Mail: Transport.send
            for (int i = first; i < args.length; i++) {
                mailer.confirm(args[i], 1000 + i);                        // returns once durable in the spool
            }
            relay.queue().awaitEmpty(Duration.ofSeconds(30));             // or keep running: it retries
        }
        // README:end
    }
}
