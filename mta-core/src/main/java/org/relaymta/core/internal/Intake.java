package org.relaymta.core.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.Mailbox;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.cleanup.MessageCleanup;
import org.relaymta.core.internal.metrics.RelayMetrics;
import org.relaymta.core.internal.queue.QueueManager;
import org.relaymta.core.internal.spool.Envelope;
import org.relaymta.core.internal.spool.LimitedOutputStream;
import org.relaymta.core.internal.spool.Spool;
import org.relaymta.core.internal.spool.SpoolWriter;
import org.relaymta.core.queue.MessageTooLargeException;

/**
 * The one way into the spool, Postfix's pickup/smtpd to cleanup to queue file in one step: an
 * envelope (checked: RFC 5321 mailboxes) becomes an {@link IncomingMessage} whose content is made
 * CRLF-canonical, goes through the cleanup step when the configuration asks for one (header checks,
 * milters, DKIM), is written to the spool, and at commit is decided (queued, held, refused,
 * discarded). The SMTP listener ({@link #receive}), the library's {@code submit} and the Jakarta
 * Mail transport ({@link #submit}) all come in here.
 */
public final class Intake {
    /** Writes a message's content. */
    public interface Content {
        void write(OutputStream out) throws IOException;
    }

    private final Spool spool;
    private final Supplier<RelayConfig> config;
    private final QueueManager queue;
    private final RelayMetrics metrics;
    private final Clock clock;
    private final Executor submitter;
    private final Supplier<ScheduledExecutorService> milterTimer;

    Intake(Spool spool, Supplier<RelayConfig> config, QueueManager queue, RelayMetrics metrics, Clock clock, Executor submitter,
           Supplier<ScheduledExecutorService> milterTimer) {
        this.spool = spool;
        this.config = config;
        this.queue = queue;
        this.metrics = metrics;
        this.clock = clock;
        this.submitter = submitter;
        this.milterTimer = milterTimer;
    }

    /** Starts a message: its content is written to {@link IncomingMessage#content()}, then committed. */
    public IncomingMessage receive(Envelope envelope) throws IOException {
        RelayConfig cfg = config.get();
        SpoolWriter writer = spool.create(envelope);
        if (!cfg.content().needsCleanup()) {
            return new IncomingMessage(writer, null, queue, metrics::messageReceived);   // nothing to clean up: straight to the spool
        }
        // Postfix: smtpd_milters for mail that came over SMTP, non_smtpd_milters for the rest.
        boolean overSmtp = envelope.clientAddress() != null && !envelope.clientAddress().isEmpty();
        MessageCleanup.MilterPlan milters = new MessageCleanup.MilterPlan(overSmtp ? cfg.content().milters().smtpd()
                : cfg.content().milters().nonSmtpd(), cfg.content().milters(), cfg.myhostname(), envelope.clientAddress(),
                milterTimer, cfg.content().messageSizeLimit(), spool.memory());
        MessageCleanup cleanup = !MessageCleanup.wanted(cfg.content().dkim(), cfg.content().headerChecks(), milters) ? null
                : new MessageCleanup(writer, cfg.content().dkim(), cfg.content().headerChecks(), envelope.sender(), clock,
                        metrics::dkimSigned, writer.id()).milters(milters);
        return new IncomingMessage(writer, cleanup, queue, metrics::messageReceived);
    }

    /**
     * A message from the application: the envelope is checked now (an {@link IllegalArgumentException}
     * in the future), the content written and committed on the submit threads, counted against
     * {@code message_size_limit}; the future completes with the queue id once the message is durable.
     */
    public CompletableFuture<String> submit(String sender, List<String> recipients, Content content) {
        return submit(sender, recipients, content, false);
    }

    /** {@code requireTls}: queued with REQUIRETLS (RFC 8689). */
    public CompletableFuture<String> submit(String sender, List<String> recipients, Content content, boolean requireTls) {
        Envelope envelope;
        try {
            envelope = new Envelope(validSender(sender), validRecipients(recipients), clock.instant(), "", requireTls);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        return CompletableFuture.supplyAsync(() -> {
            long limit = config.get().content().messageSizeLimit();
            try (IncomingMessage message = receive(envelope)) {
                content.write(new LimitedOutputStream(message.content(), limit, () -> 0, () -> new MessageTooLargeException(limit)));
                return message.commit();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, submitter);
    }

    private static String validSender(String sender) {
        String s = sender == null ? "" : sender.strip();
        if (s.equals("<>")) {
            return "";
        }
        if (!s.isEmpty()) {
            checkAddress(s, "sender", sender);
        }
        return s;
    }

    private static List<String> validRecipients(List<String> recipients) {
        if (recipients == null || recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
        List<String> out = new ArrayList<>();
        for (String r : recipients) {
            String a = r == null ? "" : r.strip();
            checkAddress(a, "recipient", r);
            out.add(a);
        }
        return out;
    }

    /** RFC 5321 mailbox syntax, the same check as {@code mta sendmail}'s; the message says what is wrong, escaped. */
    private static void checkAddress(String address, String what, String given) {
        Mailbox.problem(address).ifPresent(p -> {
            throw new IllegalArgumentException("invalid " + what + " address '" + LogText.escape(String.valueOf(given)) + "': " + p);
        });
    }
}
