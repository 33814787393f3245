package org.relaymta.test;

import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * One message as the {@link TestUpstream} received it: the envelope (one recipient per captured
 * message, as an SMTP server sees delivery to each) and the bytes after DATA.
 *
 * <pre>{@code
 * CapturedMessage m = upstream.awaitMessages(1, Duration.ofSeconds(10)).get(0);
 * assertEquals("alice@example.org", m.recipient());
 * assertEquals("Welcome", m.mime().getSubject());
 * }</pre>
 */
public record CapturedMessage(String sender, String recipient, byte[] data) {

    /** The content parsed as a MIME message. */
    public MimeMessage mime() {
        try {
            return new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(data));
        } catch (MessagingException e) {
            throw new IllegalStateException("the captured content is not a MIME message: " + e.getMessage(), e);
        }
    }

    /** The content as text (headers and body as sent, CRLF line ends). */
    public String text() {
        return new String(data, StandardCharsets.UTF_8);
    }

    /** The Subject header, decoded. */
    public String subject() {
        try {
            return mime().getSubject();
        } catch (MessagingException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
