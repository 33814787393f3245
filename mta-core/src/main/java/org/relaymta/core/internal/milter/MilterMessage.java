package org.relaymta.core.internal.milter;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.core.internal.cleanup.HeaderField;

/**
 * The message as the milters see and change it: the SMTP client and envelope, the header fields,
 * and the body (read from the spool writer, or a milter's replacement).
 */
public final class MilterMessage {
    /** Opens the body as received. */
    public interface Body {
        InputStream open() throws IOException;
    }

    final String queueId;
    final String myhostname;
    final String clientName;
    final String clientAddress;
    final String helo;
    String sender;
    final List<String> recipients;
    final List<HeaderField> headers;
    private final Body original;
    byte[] replacedBody;

    public MilterMessage(String queueId, String myhostname, String clientAddress, String helo, String sender,
                         List<String> recipients, List<HeaderField> headers, Body body) {
        this.queueId = queueId;
        this.myhostname = myhostname;
        this.clientAddress = clientAddress == null || clientAddress.isEmpty() ? "127.0.0.1" : clientAddress;
        this.clientName = clientAddress == null || clientAddress.isEmpty() ? "localhost" : "unknown";
        this.helo = helo == null || helo.isEmpty() ? myhostname : helo;
        this.sender = sender;
        this.recipients = new ArrayList<>(recipients);
        this.headers = new ArrayList<>(headers);
        this.original = body;
    }

    InputStream body() throws IOException {
        return replacedBody != null ? new java.io.ByteArrayInputStream(replacedBody) : original.open();
    }

    public String sender() {
        return sender;
    }

    public List<String> recipients() {
        return recipients;
    }

    public List<HeaderField> headers() {
        return headers;
    }

    /** The body a milter put instead of the received one, or null. */
    public byte[] replacedBody() {
        return replacedBody;
    }
}
