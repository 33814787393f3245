package org.relaymta.core.internal.queue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.spool.CrlfCanonicalizer;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix's bounce daemon: writes RFC 3464 notifications to the sender into the spool. The caller
 * queues them once the attempt that caused them is recorded, so events keep their order.
 */
final class SenderNotifier {
    private static final Logger log = LoggerFactory.getLogger(SenderNotifier.class);

    private final Spool spool;
    private final Clock clock;

    SenderNotifier(Spool spool, Clock clock) {
        this.spool = spool;
        this.clock = clock;
    }

    /** A DSN written to the spool for {@code original}; {@link #log} once the original's status lines are out. */
    record Notice(String original, String what, SpooledMessage message) {
        /** Postfix's bounce line, which follows the {@code status=bounced} line it is about. */
        void log() {
            log.info("{}: sender {} notification: {}", original, what, message.id());
        }
    }

    /**
     * Writes a DSN to the envelope sender into the spool and returns it (durable, not yet queued);
     * none for the null sender (no bounce of a bounce), or when it cannot be written (logged).
     */
    Optional<Notice> notify(SpooledMessage message, BounceMessage.Kind kind, List<BounceMessage.Failed> recipients,
                                    RelayConfig cfg) {
        String what = kind == BounceMessage.Kind.FAILED ? "non-delivery" : "delay";
        String sender = message.envelope().sender();
        if (sender.isEmpty()) {
            log.info("{}: {} notification for the null sender not sent ({} recipient(s))", message.id(),
                    kind == BounceMessage.Kind.FAILED ? "bounce" : "delay", recipients.size());
            return Optional.empty();
        }
        try (InputStream original = new BufferedInputStream(spool.openContent(message))) {
            byte[] dsn = BounceMessage.build(kind, cfg.myhostname(), message.id(), sender, message.envelope().arrival(),
                    clock.instant(), recipients, original, message.contentLength(), cfg.queue().bounceSizeLimit(),
                    message.envelope().requireTls());
            Envelope envelope = new Envelope("", List.of(sender), clock.instant(), "");
            SpoolWriter writer = spool.create(envelope);
            try {
                CrlfCanonicalizer out = new CrlfCanonicalizer(writer);
                out.write(dsn);
                out.finish();
                return Optional.of(new Notice(message.id(), what, writer.commit()));
            } catch (IOException | RuntimeException e) {
                writer.abort();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            log.error("{}: cannot create the {} notification to {}: {}", message.id(), what, sender, e.getMessage());
            return Optional.empty();
        }
    }
}
