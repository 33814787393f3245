package org.relaymta.core.internal.milter;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.relaymta.config.internal.MilterSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a message past the configured milters in order, each seeing what the ones before it
 * changed. A milter that cannot be reached, times out or breaks the protocol counts as
 * {@code milter_default_action} says.
 */
public final class Milters {
    private static final Logger CLEANUP_LOG = LoggerFactory.getLogger("org.relaymta.cleanup");

    /** The timer that bounds milter I/O; one per engine, shut down with it. */
    public static ScheduledExecutorService newTimer() {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mta-milter-timer");
            t.setDaemon(true);
            return t;
        });
    }

    /** What the milters decided: accept, reject or tempfail (with the reply), discard, or quarantine (with the reason). */
    public enum Decision { ACCEPT, REJECT, TEMPFAIL, DISCARD, QUARANTINE }

    public record Result(Decision decision, String reply) {
    }

    private Milters() {
    }

    public static Result run(List<MilterSettings.Address> milters, MilterSettings settings, MilterMessage message,
                             ScheduledExecutorService timer) {
        String quarantine = null;
        for (MilterSettings.Address address : milters) {
            MilterSession.Verdict verdict;
            String held;
            MilterSession session = null;
            try (MilterConnection conn = MilterConnection.open(address, settings.connectTimeout(), timer)) {
                session = new MilterSession(conn, settings, message);
                verdict = session.run();
                if (verdict.outcome() == MilterSession.Outcome.CONTINUE || verdict.outcome() == MilterSession.Outcome.ACCEPT) {
                    session.quit();
                }
                held = session.quarantine;
            } catch (MilterLimitException e) {
                CLEANUP_LOG.warn("{}: milter {}: {}; from=<{}>: {}", message.queueId, address, e.getMessage(), message.sender,
                        e.reply());
                return new Result(e.reply().startsWith("4") ? Decision.TEMPFAIL : Decision.REJECT, e.reply());
            } catch (IOException | RuntimeException e) {
                if (session != null && session.replacing) {
                    // Neither the old body nor a whole new one is in the spool: only a retry from the client is safe.
                    CLEANUP_LOG.warn("{}: milter {}: {} while replacing the body; from=<{}>: the message is refused",
                            message.queueId, address, e.getMessage(), message.sender);
                    return new Result(Decision.TEMPFAIL, "451 4.3.0 Error: a milter failed while replacing the body; try again later");
                }
                Result fallback = defaultAction(address, settings, message.queueId, e);
                if (fallback == null) {
                    continue;
                }
                if (fallback.decision() == Decision.QUARANTINE) {
                    quarantine = fallback.reply();
                    continue;
                }
                return fallback;
            }
            switch (verdict.outcome()) {
                case REJECT, TEMPFAIL -> {
                    CLEANUP_LOG.info("{}: milter-reject: END-OF-MESSAGE from {}; from=<{}>: {}", message.queueId, address,
                            message.sender, verdict.reply());
                    return new Result(verdict.outcome() == MilterSession.Outcome.REJECT ? Decision.REJECT : Decision.TEMPFAIL,
                            verdict.reply());
                }
                case DISCARD -> {
                    CLEANUP_LOG.info("{}: milter-discard: END-OF-MESSAGE from {}; from=<{}>: milter triggers DISCARD action",
                            message.queueId, address, message.sender);
                    return new Result(Decision.DISCARD, null);
                }
                default -> {
                    if (held != null) {
                        CLEANUP_LOG.info("{}: milter-hold: END-OF-MESSAGE from {}; from=<{}>: {}", message.queueId, address,
                                message.sender, held);
                        quarantine = held;
                    }
                }
            }
        }
        return quarantine != null ? new Result(Decision.QUARANTINE, quarantine) : new Result(Decision.ACCEPT, null);
    }

    /** milter_default_action for a milter that failed: null to go on without it. */
    private static Result defaultAction(MilterSettings.Address address, MilterSettings settings, String queueId, Exception e) {
        CLEANUP_LOG.warn("{}: milter {}: {}; milter_default_action = {}", queueId, address, e.getMessage(), settings.defaultAction());
        return switch (settings.defaultAction()) {
            case "accept" -> null;
            case "reject" -> new Result(Decision.REJECT, "550 5.7.1 Command rejected");
            case "quarantine" -> new Result(Decision.QUARANTINE, "milter " + address + " unavailable");
            default -> new Result(Decision.TEMPFAIL, "451 4.7.1 Service unavailable - try again later");
        };
    }
}
