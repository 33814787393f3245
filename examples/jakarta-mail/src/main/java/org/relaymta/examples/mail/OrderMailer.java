package org.relaymta.examples.mail;

import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

/** Application code: plain Jakarta Mail, unaware of the relay behind its session. */
public final class OrderMailer {
    private final Session session;

    public OrderMailer(Session session) {
        this.session = session;
    }

    /** Sends an order confirmation; returns once the relay has it durably (or throws). */
    public void confirm(String customer, int order) throws MessagingException {
        MimeMessage message = new MimeMessage(session);
        message.setFrom(new InternetAddress("orders@shop.example"));
        message.setRecipient(Message.RecipientType.TO, new InternetAddress(customer));
        message.setSubject("Order " + order + " confirmed");
        message.setText("Thank you for order " + order + ".");
        Transport.send(message);
    }
}
