package org.relaymta.core.internal.milter;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.core.internal.spool.HeaderField;
import org.relaymta.core.internal.spool.LimitedOutputStream;
import org.relaymta.core.internal.spool.MemoryBudget;

/**
 * The message as the milters see and change it: the SMTP client and envelope, the header fields,
 * and the body. The body is read from, and a milter's replacement written to, the message's place
 * in the spool, never held in memory; what the milters add to the header section is counted, so
 * neither can grow one message past {@code message_size_limit} or the engine's memory budget.
 */
public final class MilterMessage implements AutoCloseable {
    /** Opens the body as it is now (the received one, or the last milter's replacement). */
    public interface Body {
        InputStream open() throws IOException;
    }

    /** Where a milter's replacement body goes: the old body is thrown away, the new one written to the stream returned. */
    public interface Replacement {
        OutputStream begin() throws IOException;
    }

    /** Header bytes a message may add without asking the memory budget. */
    static final int FREE_HEADER_BYTES = 64 * 1024;

    final String queueId;
    final String myhostname;
    final String clientName;
    final String clientAddress;
    final String helo;
    String sender;
    final List<String> recipients;
    final List<HeaderField> headers;
    private final Body body;
    private final Replacement replacement;
    private final long sizeLimit;
    private final MemoryBudget memory;
    private long headerBytes;
    private long reservedHeaderBytes;
    private boolean replaced;
    /** The replacement body being written, counted with the header section against the limit. */
    private LimitedOutputStream newBody;

    public MilterMessage(String queueId, String myhostname, String clientAddress, String helo, String sender,
                         List<String> recipients, List<HeaderField> headers, Body body, Replacement replacement,
                         long sizeLimit, MemoryBudget memory) {
        this.queueId = queueId;
        this.myhostname = myhostname;
        this.clientAddress = clientAddress == null || clientAddress.isEmpty() ? "127.0.0.1" : clientAddress;
        this.clientName = clientAddress == null || clientAddress.isEmpty() ? "localhost" : "unknown";
        this.helo = helo == null || helo.isEmpty() ? myhostname : helo;
        this.sender = sender;
        this.recipients = new ArrayList<>(recipients);
        this.headers = new ArrayList<>(headers);
        this.body = body;
        this.replacement = replacement;
        this.sizeLimit = sizeLimit;
        this.memory = memory;
        for (HeaderField f : headers) {
            headerBytes += f.raw().length;
        }
    }

    InputStream body() throws IOException {
        return body.open();
    }

    /**
     * Starts a milter's replacement body: a stream that takes the new body, refusing (with a
     * {@link MilterLimitException}) to let header section and body together exceed {@code message_size_limit}.
     */
    OutputStream replaceBody() throws IOException {
        replaced = true;
        newBody = new LimitedOutputStream(replacement.begin(), sizeLimit, () -> headerBytes,
                () -> MilterLimitException.tooBig(sizeLimit));
        return newBody;
    }

    /** Counts a header field a milter adds or puts instead of {@code removed} (null for none), within the limits. */
    void account(HeaderField added, HeaderField removed) throws MilterLimitException {
        long after = headerBytes + (added == null ? 0 : added.raw().length) - (removed == null ? 0 : removed.raw().length);
        if (sizeLimit > 0 && after + (newBody == null ? 0 : newBody.written()) > sizeLimit) {
            throw MilterLimitException.tooBig(sizeLimit);
        }
        long beyondFree = Math.max(0, after - FREE_HEADER_BYTES);
        if (beyondFree > reservedHeaderBytes) {
            long more = Math.max(beyondFree - reservedHeaderBytes, FREE_HEADER_BYTES);
            if (memory != null && !memory.tryReserve(more)) {
                throw new MilterLimitException("451 4.3.0 Error: insufficient memory for the milter's changes; try again later",
                        "the milters' header changes need more memory than the relay has to spare now");
            }
            reservedHeaderBytes += more;
        }
        headerBytes = after;
    }

    /** Whether a milter replaced the body (the spool holds the new one). */
    public boolean bodyReplaced() {
        return replaced;
    }

    /** Gives back the memory the milters' header changes took. */
    @Override
    public void close() {
        if (reservedHeaderBytes > 0 && memory != null) {
            memory.release(reservedHeaderBytes);
            reservedHeaderBytes = 0;
        }
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

}
