package org.relaymta.core.mail;

import jakarta.mail.Address;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.URLName;
import jakarta.mail.event.ConnectionEvent;
import jakarta.mail.event.TransportEvent;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.SubmitOption;
import org.relaymta.core.internal.MailProperties;
import org.relaymta.core.internal.RunningEngines;

/**
 * The Jakarta Mail transport of protocol {@code relaymta}: {@code Transport.send(message)} returns
 * once the message is durable in an embedded relay's spool, not once it is delivered; the relay
 * then routes, retries and bounces like Postfix.
 *
 * <p>Why it extends Angus's SMTP transport: {@code Transport.send} does not read
 * {@code mail.transport.protocol}; it picks the transport by address type ({@code rfc822}) through
 * {@code mail.transport.protocol.rfc822}, else the classpath's {@code javamail.address.map}
 * (the last one wins), and that protocol's provider (the first one wins). This jar therefore maps
 * {@code rfc822} to {@code relaymta} and also offers itself as the {@code smtp} provider, so that
 * whichever of this jar and Angus comes first on the classpath, a session whose
 * {@code mail.transport.protocol} is {@code relaymta} reaches the relay. Every other session gets
 * exactly Angus's SMTP transport (this class adds nothing to it then, and casts to
 * {@code SMTPTransport} keep working).
 *
 * <p>The relay is the {@link RelayEngine} under {@link #RELAY_PROPERTY} (what
 * {@link RelayEngine#mailSession()} sets), else the running engine whose spool directory is
 * {@link #SPOOL_PROPERTY}, else the only running engine. The envelope sender is
 * {@link #FROM_PROPERTY}, else the message's Sender or first From address.
 *
 * <pre>{@code
 * Properties props = new Properties();
 * props.setProperty("mail.transport.protocol", "relaymta");
 * props.setProperty("mail.relaymta.spool", "/var/lib/app/spool");   // only with several relays in the JVM
 * Session session = Session.getInstance(props);
 * Transport.send(message);   // durable in the relay's spool when it returns
 * }</pre>
 */
public class RelayTransport extends SMTPTransport {
    public static final String PROTOCOL = MailProperties.PROTOCOL;
    public static final String RELAY_PROPERTY = MailProperties.RELAY_PROPERTY;
    public static final String SPOOL_PROPERTY = MailProperties.SPOOL_PROPERTY;
    public static final String FROM_PROPERTY = MailProperties.FROM_PROPERTY;
    public static final String REQUIRETLS_PROPERTY = MailProperties.REQUIRETLS_PROPERTY;
    public static final String TLS_REQUIRED_PROPERTY = MailProperties.TLS_REQUIRED_PROPERTY;

    private final boolean relayed;
    private boolean open;

    public RelayTransport(Session session, URLName urlname) {
        // As SMTP (mail.smtp.* properties) whatever name the provider was found under.
        super(session, smtp(urlname));
        this.relayed = wantsRelay(session);
    }

    private static URLName smtp(URLName url) {
        if (url == null) {
            return null;
        }
        return new URLName("smtp", url.getHost(), url.getPort(), url.getFile(), url.getUsername(), url.getPassword());
    }

    /** Whether the session asks for the relay: the protocol named, or an engine handed in. */
    static boolean wantsRelay(Session session) {
        return PROTOCOL.equalsIgnoreCase(strip(session.getProperty("mail.transport.protocol")))
                || PROTOCOL.equalsIgnoreCase(strip(session.getProperty("mail.transport.protocol.rfc822")))
                || session.getProperties().get(RELAY_PROPERTY) instanceof RelayEngine;
    }

    private static String strip(String value) {
        return value == null ? null : value.strip();
    }

    @Override
    protected synchronized boolean protocolConnect(String host, int port, String user, String password)
            throws MessagingException {
        if (!relayed) {
            return super.protocolConnect(host, port, user, password);
        }
        relay();
        open = true;
        return true;
    }

    @Override
    public synchronized boolean isConnected() {
        // SMTPTransport.isConnected() probes its socket with NOOP; the relay has none.
        return relayed ? open : super.isConnected();
    }

    @Override
    public synchronized void close() throws MessagingException {
        if (!relayed) {
            super.close();
            return;
        }
        open = false;
        setConnected(false);
        notifyConnectionListeners(ConnectionEvent.CLOSED);
    }

    private RunningEngines.Submitter relay() throws MessagingException {
        Object relay = session.getProperties().get(RELAY_PROPERTY);
        if (relay instanceof RelayEngine engine) {
            return (m, s, r, requireTls) -> engine.submit(m, s, r,
                    requireTls ? new SubmitOption[] {SubmitOption.REQUIRE_TLS} : new SubmitOption[0]);
        }
        return RunningEngines.find(session.getProperty(SPOOL_PROPERTY)).submitter();
    }

    @Override
    public synchronized void sendMessage(Message message, Address[] addresses) throws MessagingException {
        if (!relayed) {
            super.sendMessage(message, addresses);
            return;
        }
        if (!(message instanceof MimeMessage mime)) {
            throw new MessagingException("the relaymta transport sends MimeMessages only");
        }
        if (addresses == null || addresses.length == 0) {
            throw new SendFailedException("no recipient addresses");
        }
        List<String> recipients = new ArrayList<>();
        for (Address a : addresses) {
            if (!(a instanceof InternetAddress ia)) {
                throw new SendFailedException("not an Internet address: " + a);
            }
            recipients.add(ia.getAddress());
        }
        String sender = envelopeSender(mime);
        boolean requireTls = "true".equalsIgnoreCase(strip(session.getProperty(REQUIRETLS_PROPERTY)));
        if ("no".equalsIgnoreCase(strip(session.getProperty(TLS_REQUIRED_PROPERTY)))) {
            mime.setHeader("TLS-Required", "No");
        }
        try {
            relay().submit(mime, sender, recipients, requireTls).get();
            notifyTransportListeners(TransportEvent.MESSAGE_DELIVERED, addresses, new Address[0], new Address[0], message);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MessagingException("interrupted while queueing the message", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            notifyTransportListeners(TransportEvent.MESSAGE_NOT_DELIVERED, new Address[0], addresses, new Address[0], message);
            throw new SendFailedException("the relay did not accept the message: " + cause.getMessage(),
                    cause instanceof Exception ex ? ex : null, new Address[0], new Address[0], addresses);
        }
    }

    private String envelopeSender(MimeMessage mime) throws MessagingException {
        String configured = session.getProperty(FROM_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return configured.strip();
        }
        Address sender = mime.getSender();
        if (sender == null) {
            Address[] from = mime.getFrom();
            sender = from == null || from.length == 0 ? null : from[0];
        }
        if (!(sender instanceof InternetAddress ia)) {
            throw new SendFailedException("no envelope sender: set a From address or " + FROM_PROPERTY);
        }
        return ia.getAddress();
    }
}
