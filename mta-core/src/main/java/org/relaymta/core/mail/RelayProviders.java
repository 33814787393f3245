package org.relaymta.core.mail;

import jakarta.mail.Provider;

/**
 * The providers this jar registers through {@code ServiceLoader} (and {@code provides} in its
 * module); {@link RelayTransport} says why {@code smtp} too. Applications do not use them directly:
 *
 * <pre>{@code
 * Properties props = new Properties();
 * props.setProperty("mail.transport.protocol", "relaymta");
 * Transport.send(new MimeMessage(Session.getInstance(props)));   // reaches RelayTransport
 * }</pre>
 */
public final class RelayProviders {
    private RelayProviders() {
    }

    /** Protocol {@code relaymta}. */
    public static final class Relay extends Provider {
        public Relay() {
            super(Type.TRANSPORT, RelayTransport.PROTOCOL, RelayTransport.class.getName(), "Relay MTA", null);
        }
    }

    /** Protocol {@code smtp}: Angus's SMTP transport unless the session asks for the relay. */
    public static final class Smtp extends Provider {
        public Smtp() {
            super(Type.TRANSPORT, "smtp", RelayTransport.class.getName(), "Relay MTA", null);
        }
    }
}
