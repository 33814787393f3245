package org.relaymta.examples.testkit;

import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

/** The application's mail code: plain Jakarta Mail, nothing relay-specific. */
public final class WelcomeMailer {
    private final Session session;

    public WelcomeMailer(Session session) {
        this.session = session;
    }

    public void welcome(String address) throws MessagingException {
        MimeMessage message = new MimeMessage(session);
        message.setFrom(new InternetAddress("hello@shop.example"));
        message.setRecipient(Message.RecipientType.TO, new InternetAddress(address));
        message.setSubject("Welcome");
        message.setText("Thanks for signing up.");
        Transport.send(message);
    }
}
