package org.relaymta.core.queue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.List;
import java.util.function.Consumer;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.spool.CrlfCanonicalizer;
import org.relaymta.core.spool.Envelope;
import org.relaymta.core.spool.Spool;
import org.relaymta.core.spool.SpoolWriter;
import org.relaymta.core.spool.SpooledMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Postfix's bounce daemon: writes RFC 3464 notifications to the sender into the spool and queues them. */
final class SenderNotifier {
    private static final Logger log = LoggerFactory.getLogger(SenderNotifier.class);

    private final Spool spool;
    private final Clock clock;
    private final Consumer<SpooledMessage> enqueue;

    SenderNotifier(Spool spool, Clock clock, Consumer<SpooledMessage> enqueue) {
        this.spool = spool;
        this.clock = clock;
        this.enqueue = enqueue;
    }

    /** Queues a DSN to the envelope sender; never for the null sender (no bounce of a bounce). */
    void notify(SpooledMessage message, BounceMessage.Kind kind, List<BounceMessage.Failed> recipients, RelayConfig cfg) {
        String what = kind == BounceMessage.Kind.FAILED ? "non-delivery" : "delay";
        String sender = message.envelope().sender();
        if (sender.isEmpty()) {
            log.info("{}: {} notification for the null sender not sent ({} recipient(s))", message.id(),
                    kind == BounceMessage.Kind.FAILED ? "bounce" : "delay", recipients.size());
            return;
        }
        try (InputStream original = new BufferedInputStream(spool.openContent(message))) {
            byte[] dsn = BounceMessage.build(kind, cfg.myhostname(), message.id(), sender, message.envelope().arrival(),
                    clock.instant(), recipients, original, message.contentLength(), cfg.queue().bounceSizeLimit());
            Envelope envelope = new Envelope("", List.of(sender), clock.instant(), "");
            SpoolWriter writer = spool.create(envelope);
            try {
                CrlfCanonicalizer out = new CrlfCanonicalizer(writer);
                out.write(dsn);
                out.finish();
                SpooledMessage bounce = writer.commit();
                log.info("{}: sender {} notification: {}", message.id(), what, bounce.id());
                enqueue.accept(bounce);
            } catch (IOException | RuntimeException e) {
                writer.abort();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            log.error("{}: cannot create the {} notification to {}: {}", message.id(), what, sender, e.getMessage());
        }
    }
}
