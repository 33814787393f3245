package org.relaymta.core.internal;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * The engines started in this JVM, so that a Jakarta Mail session made from properties alone (a
 * file, JNDI, {@code spring.mail.properties}) can find its relay. An engine is here from
 * {@code start()} to {@code close()}, as its spool directory and its way in.
 */
public final class RunningEngines {
    /** How a message gets into one running engine: {@code submit(message, sender, recipients)}. */
    public interface Submitter {
        /** {@code requireTls}: with REQUIRETLS (RFC 8689). */
        CompletableFuture<String> submit(MimeMessage message, String sender, List<String> recipients, boolean requireTls);
    }

    /** One running engine. */
    public record Running(Path spool, Submitter submitter) {
    }

    private static final List<Running> RUNNING = new CopyOnWriteArrayList<>();

    private RunningEngines() {
    }

    public static void started(Running engine) {
        RUNNING.add(engine);
    }

    public static void stopped(Running engine) {
        RUNNING.remove(engine);
    }

    /** The engine with that spool directory, or when {@code spool} is null the only one running. */
    public static Running find(String spool) throws MessagingException {
        List<Running> running = List.copyOf(RUNNING);
        if (spool != null && !spool.isBlank()) {
            Path wanted = Path.of(spool.strip()).toAbsolutePath().normalize();
            for (Running engine : running) {
                if (engine.spool().toAbsolutePath().normalize().equals(wanted)) {
                    return engine;
                }
            }
            throw new MessagingException("no running relay has the spool " + wanted + " (" + MailProperties.SPOOL_PROPERTY
                    + "); running: " + spools(running));
        }
        if (running.size() == 1) {
            return running.get(0);
        }
        if (running.isEmpty()) {
            throw new MessagingException("mail.transport.protocol is relaymta but no relay is running in this JVM: start a "
                    + "RelayEngine first (the message was not sent)");
        }
        throw new MessagingException(running.size() + " relays are running (" + spools(running) + "): name one by its spool "
                + "directory in " + MailProperties.SPOOL_PROPERTY);
    }

    private static String spools(List<Running> running) {
        return running.isEmpty() ? "none" : running.stream().map(e -> e.spool().toString()).collect(Collectors.joining(", "));
    }
}
