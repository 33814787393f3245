package org.relaymta.core.internal;

import jakarta.mail.MessagingException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.mail.RelayTransport;

/**
 * The engines started in this JVM, so that a Jakarta Mail session made from properties alone (a
 * file, JNDI, {@code spring.mail.properties}) can find its relay. An engine is here from
 * {@code start()} to {@code close()}.
 */
public final class RunningEngines {
    private static final List<RelayEngine> RUNNING = new CopyOnWriteArrayList<>();

    private RunningEngines() {
    }

    public static void started(RelayEngine engine) {
        RUNNING.add(engine);
    }

    public static void stopped(RelayEngine engine) {
        RUNNING.remove(engine);
    }

    /** The engine with that spool directory, or when {@code spool} is null the only one running. */
    public static RelayEngine find(String spool) throws MessagingException {
        List<RelayEngine> running = List.copyOf(RUNNING);
        if (spool != null && !spool.isBlank()) {
            Path wanted = Path.of(spool.strip()).toAbsolutePath().normalize();
            for (RelayEngine engine : running) {
                if (engine.spoolDirectory().toAbsolutePath().normalize().equals(wanted)) {
                    return engine;
                }
            }
            throw new MessagingException("no running relay has the spool " + wanted + " (" + RelayTransport.SPOOL_PROPERTY
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
                + "directory in " + RelayTransport.SPOOL_PROPERTY);
    }

    private static String spools(List<RelayEngine> running) {
        return running.isEmpty() ? "none" : running.stream().map(e -> e.spoolDirectory().toString()).collect(Collectors.joining(", "));
    }
}
