package org.relaymta.core.internal.cleanup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.relaymta.config.internal.DkimKey;
import org.relaymta.config.internal.DkimTable;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.config.internal.MilterSettings;
import org.relaymta.core.internal.milter.MilterMessage;
import org.relaymta.core.internal.milter.Milters;
import org.relaymta.core.internal.spool.CrlfCanonicalizer;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.HeaderField;
import org.relaymta.core.internal.spool.MemoryBudget;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix's cleanup step for one message on its way into the spool: the header section is held back
 * while the body streams through to the spool (and into the DKIM body hash); at the end, {@link
 * #finish()} returns the header section as it is to be stored, with its DKIM signatures in front.
 * Signing here, once, means retries and restarts deliver the same signed bytes.
 */
public final class MessageCleanup extends OutputStream {
    /** Postfix {@code header_size_limit}: past this, the rest is body. */
    static final int HEADER_LIMIT = 102_400;
    private static final Logger log = LoggerFactory.getLogger(MessageCleanup.class);
    /** Postfix's cleanup lines (header_checks actions), under the name the log formats map to "cleanup". */
    private static final Logger CLEANUP_LOG = LoggerFactory.getLogger("org.relaymta.cleanup");

    /**
     * What header_checks and the milters decided for the whole message: accept (null action), or
     * REJECT (with the SMTP reply to give), DISCARD, HOLD and the text.
     */
    public record Verdict(HeaderChecks.Action action, String text, String reply) {
        static final Verdict ACCEPT = new Verdict(null, "", null);
    }

    /** The milters for this message and their settings; none when the list is empty. */
    public record MilterPlan(List<MilterSettings.Address> milters,
                             MilterSettings settings, String myhostname, String clientAddress,
                             Supplier<ScheduledExecutorService> timer, long sizeLimit,
                             MemoryBudget memory) {
        public boolean any() {
            return !milters.isEmpty();
        }
    }

    /** Told about each signature made: domain and algorithm. */
    public interface SignedListener {
        void signed(String domain, String algorithm);
    }

    private final OutputStream body;
    private final DkimTable dkim;
    private String signedDomain = "";
    private final HeaderChecks checks;
    private Verdict verdict = Verdict.ACCEPT;
    private final String envelopeSender;
    private final Clock clock;
    private final SignedListener signed;
    private final String queueId;
    private final RelaxedBodyHash bodyHash;
    private byte[] header = new byte[2048];
    private int headerCount;
    private boolean inBody;
    private boolean separator;

    public MessageCleanup(OutputStream body, DkimTable dkim, HeaderChecks checks, String envelopeSender, Clock clock,
                          SignedListener signed, String queueId) {
        this.body = body;
        this.dkim = dkim;
        this.checks = checks;
        this.envelopeSender = envelopeSender;
        this.clock = clock;
        this.signed = signed;
        this.queueId = queueId;
        this.bodyHash = dkim.isEmpty() ? null : new RelaxedBodyHash();
    }

    /** Whether a message under this configuration needs the cleanup step at all. */
    public static boolean wanted(DkimTable dkim, HeaderChecks checks, MilterPlan milters) {
        return !dkim.isEmpty() || !checks.isEmpty() || milters.any();
    }

    private MilterPlan milters = new MilterPlan(List.of(), null, "", "", () -> null, 0, null);
    private List<HeaderField> checked;

    /** Milters to run at the end ({@link #finishWithMilters}). */
    public MessageCleanup milters(MilterPlan plan) {
        this.milters = plan;
        return this;
    }

    public boolean hasMilters() {
        return milters.any();
    }

    /** The header fields after header_checks (computed once). */
    private List<HeaderField> checkedHeaders() {
        if (checked == null) {
            List<HeaderField> fields = HeaderField.parse(header, headerCount);
            checked = checks.isEmpty() ? fields : check(fields);
        }
        return checked;
    }

    /**
     * As {@link #finish()}, with the milters between header_checks and signing: they see the header
     * fields as checked and the body from {@code writer}; their changes to the envelope and body go
     * into {@code writer}, their verdict into {@link #verdict()}. Blocking: run it on a worker.
     */
    public byte[] finishWithMilters(SpoolWriter writer) throws IOException {
        List<HeaderField> fields = checkedHeaders();
        if (verdict.action() == HeaderChecks.Action.REJECT || verdict.action() == HeaderChecks.Action.DISCARD) {
            return finish(fields, null);
        }
        Envelope env = writer.envelope();
        try (MilterMessage message = new MilterMessage(queueId,
                milters.myhostname(), milters.clientAddress(), null, env.sender(), env.recipients(), fields, writer::contentSoFar,
                () -> replacementInto(writer), milters.sizeLimit(), milters.memory())) {
            Milters.Result r = Milters.run(milters.milters(),
                    milters.settings(), message, milters.timer().get());
            switch (r.decision()) {
                case REJECT, TEMPFAIL -> {
                    verdict = new Verdict(HeaderChecks.Action.REJECT, r.reply(), r.reply());
                    return finish(fields, null);
                }
                case DISCARD -> {
                    verdict = new Verdict(HeaderChecks.Action.DISCARD, "milter", null);
                    return finish(fields, null);
                }
                case QUARANTINE -> {
                    if (verdict.action() == null) {
                        verdict = new Verdict(HeaderChecks.Action.HOLD, r.reply(), null);
                    }
                }
                default -> { }
            }
            if (!message.sender().equals(env.sender()) || !message.recipients().equals(env.recipients())) {
                writer.replaceEnvelope(new Envelope(message.sender(), message.recipients(),
                        env.arrival(), env.clientAddress(), env.requireTls()));
            }
            return finish(message.headers(), message.bodyReplaced() && bodyHash != null ? hashOf(writer) : null);
        }
    }

    /**
     * Where a milter's replacement body goes: the received body is thrown away and the new one is
     * written to the spool writer, made CRLF-canonical on the way; closing the stream ends it
     * (never the writer).
     */
    private static OutputStream replacementInto(SpoolWriter writer) throws IOException {
        writer.resetContent();
        CrlfCanonicalizer canonical = new CrlfCanonicalizer(writer);
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                canonical.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                canonical.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                canonical.finish();
                writer.flush();
            }
        };
    }

    /** The DKIM body hash of the body as the spool holds it now (a milter's replacement), read back in pieces. */
    private static RelaxedBodyHash hashOf(SpoolWriter writer) throws IOException {
        RelaxedBodyHash hash = new RelaxedBodyHash();
        byte[] piece = new byte[64 * 1024];
        try (InputStream in = writer.contentSoFar()) {
            int n;
            while ((n = in.read(piece)) > 0) {
                hash.update(piece, 0, n);
            }
        }
        return hash;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (inBody) {
            toBody(b, off, len);
            return;
        }
        if (headerCount + len > header.length) {
            header = Arrays.copyOf(header, Math.max(headerCount + len, header.length * 2));
        }
        int scanFrom = Math.max(0, headerCount - 3);
        System.arraycopy(b, off, header, headerCount, len);
        headerCount += len;
        int end = endOfHeaders(scanFrom);
        if (end >= 0) {
            // header[0, end) is the header section with its last CRLF; then CRLF; then body.
            inBody = true;
            separator = true;
            int bodyStart = end + 2;
            int rest = headerCount - bodyStart;
            headerCount = end;
            if (rest > 0) {
                toBody(header, bodyStart, rest);
            }
        } else if (headerCount > HEADER_LIMIT) {
            inBody = true;   // no end of headers in sight: what came so far is the header section
        }
    }

    /** The index after the last header line's CRLF when the empty line has arrived, else -1. */
    private int endOfHeaders(int from) {
        if (headerCount >= 2 && header[0] == '\r' && header[1] == '\n') {
            return 0;   // no header fields at all
        }
        for (int i = Math.max(from, 0); i + 3 < headerCount; i++) {
            if (header[i] == '\r' && header[i + 1] == '\n' && header[i + 2] == '\r' && header[i + 3] == '\n') {
                return i + 2;
            }
        }
        return -1;
    }

    private void toBody(byte[] b, int off, int len) throws IOException {
        body.write(b, off, len);
        if (bodyHash != null) {
            bodyHash.update(b, off, len);
        }
    }

    /**
     * The header section to store before the body: DKIM signatures, the header fields as
     * header_checks left them, the empty line. Then {@link #verdict()} says whether to keep the message.
     */
    public byte[] finish() {
        return finish(checkedHeaders(), null);
    }

    /** {@code replacedBodyHash}: the body hash of a milter's replacement body, else null for the received body's. */
    private byte[] finish(List<HeaderField> fields, RelaxedBodyHash replacedBodyHash) {
        RelaxedBodyHash hash = replacedBodyHash != null ? replacedBodyHash : bodyHash;
        List<byte[]> parts = new ArrayList<>(hash == null || verdict.action() != null && verdict.action() != HeaderChecks.Action.HOLD
                ? List.of() : sign(fields, hash));
        for (HeaderField f : fields) {
            parts.add(f.raw());
        }
        if (separator) {
            parts.add(new byte[] {'\r', '\n'});
        }
        int size = 0;
        for (byte[] p : parts) {
            size += p.length;
        }
        byte[] out = new byte[size];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** After {@link #finish()}: REJECT, DISCARD or HOLD from header_checks, else an accepting verdict (null action). */
    public Verdict verdict() {
        return verdict;
    }

    /** Postfix header_checks over the top-level header fields; the first rule that matches a line decides for it. */
    private List<HeaderField> check(List<HeaderField> fields) {
        List<HeaderField> out = new ArrayList<>(fields.size());
        for (HeaderField f : fields) {
            String line = f.logicalLine();
            HeaderChecks.Result r = checks.match(line).orElse(null);
            if (r == null) {
                out.add(f);
                continue;
            }
            if (HeaderEdits.apply(f, r, out, CLEANUP_LOG, queueId, "; from=<" + envelopeSender + ">")) {
                continue;
            }
            // REJECT, DISCARD, HOLD: a decision about the message; the field stays as it is.
            String text = r.text().isEmpty() && r.action() == HeaderChecks.Action.REJECT
                    ? "Error: message content rejected" : r.text();
            CLEANUP_LOG.info("{}: {}: header {}; from=<{}>: {}{}", queueId, r.action().name().toLowerCase(Locale.ROOT), line,
                    envelopeSender, r.action() == HeaderChecks.Action.REJECT ? "5.7.1 " : "", text);
            // REJECT outranks DISCARD outranks HOLD; later lines cannot undo an earlier decision.
            if (rank(r.action()) > rank(verdict.action())) {
                verdict = new Verdict(r.action(), text, r.action() == HeaderChecks.Action.REJECT ? "550 5.7.1 " + text : null);
            }
            out.add(f);
        }
        return out;
    }

    private static int rank(HeaderChecks.Action action) {
        if (action == null) {
            return 0;
        }
        return switch (action) {
            case HOLD -> 1;
            case DISCARD -> 2;
            case REJECT -> 3;
            default -> 0;
        };
    }

    /** The domain of the first DKIM signature this added, or empty. */
    public String signedDomain() {
        return signedDomain;
    }

    private List<byte[]> sign(List<HeaderField> fields, RelaxedBodyHash bodyHash) {
        String from = fromAddress(fields);
        List<DkimKey> keys = from == null ? List.of() : dkim.keysFor(from);
        if (keys.isEmpty() && envelopeSender != null && !envelopeSender.isEmpty()) {
            keys = dkim.keysFor(envelopeSender);
        }
        if (keys.isEmpty()) {
            log.debug("{}: not DKIM-signed: no signing key for From: {} or sender <{}>", queueId,
                    from == null ? "(none)" : "<" + from + ">", envelopeSender);
            return List.of();
        }
        byte[] hash = bodyHash.digest();
        long now = clock.instant().getEpochSecond();
        List<byte[]> out = new ArrayList<>();
        for (DkimKey key : keys) {
            try {
                out.add(DkimSigner.sign(fields, hash, key, now));
                signed.signed(key.domain(), key.algorithm());
                if (signedDomain.isEmpty()) {
                    signedDomain = key.domain();
                }
            } catch (GeneralSecurityException e) {
                log.warn("{}: not DKIM-signed with {} ({}): {}", queueId, key.selector() + "._domainkey." + key.domain(),
                        key.algorithm(), e.getMessage());
            }
        }
        return out;
    }

    /** The address in the (first) From: field, or null. */
    static String fromAddress(List<HeaderField> fields) {
        for (HeaderField f : fields) {
            if (f.lowerName().equals("from")) {
                String v = f.value();
                int lt = v.lastIndexOf('<');
                int gt = v.lastIndexOf('>');
                String address = lt >= 0 && gt > lt ? v.substring(lt + 1, gt) : v.split("[,\\s]")[0];
                address = address.strip().toLowerCase(Locale.ROOT);
                return address.contains("@") ? address : null;
            }
        }
        return null;
    }

    @Override
    public void flush() throws IOException {
        body.flush();
    }
}
