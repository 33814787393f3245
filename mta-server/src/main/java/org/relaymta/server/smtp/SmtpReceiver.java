package org.relaymta.server.smtp;

import org.relaymta.core.internal.EngineAccess;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.relaymta.core.RelayEngine;
import org.relaymta.core.internal.IncomingMessage;
import org.relaymta.core.internal.spool.Envelope;

/**
 * What the listener needs of the relay behind it, and nothing more: take a message, say whether
 * the spool has room, tell the time, and count what happened. {@link #of(RelayEngine)} adapts the engine.
 */
interface SmtpReceiver {
    /** Starts a message; its content is written, then committed (fsync) before the 250. */
    IncomingMessage receive(Envelope envelope) throws IOException;

    /** False when the spool cannot take mail now (full file system, failed fsync). */
    boolean hasRoomForMail();

    Instant now();

    void sessionOpened();

    void tlsSessionEnded();

    void authFailed();

    /** The time from a client's end of DATA to the 250. */
    void dataReplied(Duration d);

    static SmtpReceiver of(RelayEngine engine) {
        return new SmtpReceiver() {
            @Override
            public IncomingMessage receive(Envelope envelope) throws IOException {
                return EngineAccess.internals(engine).receive(envelope);
            }

            @Override
            public boolean hasRoomForMail() {
                return engine.hasRoomForMail();
            }

            @Override
            public Instant now() {
                return engine.clock().instant();
            }

            @Override
            public void sessionOpened() {
                EngineAccess.internals(engine).metrics().inboundSession(false);
            }

            @Override
            public void tlsSessionEnded() {
                EngineAccess.internals(engine).metrics().inboundTls();
            }

            @Override
            public void authFailed() {
                EngineAccess.internals(engine).metrics().authFailure();
            }

            @Override
            public void dataReplied(Duration d) {
                EngineAccess.internals(engine).metrics().dataReply(d);
            }
        };
    }
}
