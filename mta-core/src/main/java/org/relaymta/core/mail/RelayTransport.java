package org.relaymta.core.mail;

import jakarta.mail.Address;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.URLName;
import jakarta.mail.event.TransportEvent;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.relaymta.core.RelayEngine;

/**
 * A Jakarta Mail {@link Transport} for protocol {@code relaymta}: {@code Transport.send(message)}
 * returns once the message is durable in the embedded relay's spool, not once it is delivered;
 * the relay then routes, retries and bounces like Postfix. The relay instance travels in the
 * session's properties under {@link #RELAY_PROPERTY} (no global registry), see
 * {@link RelayEngine#mailSession()}. The envelope sender is {@code mail.relaymta.from}, else the
 * message's Sender or first From address.
 */
public final class RelayTransport extends Transport {
    public static final String PROTOCOL = "relaymta";
    public static final String RELAY_PROPERTY = "mail.relaymta.relay";
    public static final String FROM_PROPERTY = "mail.relaymta.from";

    public RelayTransport(Session session, URLName urlname) {
        super(session, urlname);
    }

    @Override
    protected boolean protocolConnect(String host, int port, String user, String password) throws MessagingException {
        relay();
        return true;
    }

    private RelayEngine relay() throws MessagingException {
        Object relay = session.getProperties().get(RELAY_PROPERTY);
        if (relay instanceof RelayEngine engine) {
            return engine;
        }
        throw new MessagingException("no relay in the mail session: create it with RelayEngine.mailSession(), or put the "
                + "RelayEngine under the property " + RELAY_PROPERTY);
    }

    @Override
    public void sendMessage(Message message, Address[] addresses) throws MessagingException {
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
        try {
            relay().submit(mime, sender, recipients).get();
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
