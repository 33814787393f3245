package org.relaymta.server.smtp;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.relaymta.core.internal.IncomingMessage;
import org.relaymta.core.internal.spool.Envelope;

/** A receiver for session tests that never get to DATA: says whether there is room, counts what it is told. */
final class FakeReceiver implements SmtpReceiver {
    volatile boolean room = true;
    volatile int authFailures;

    @Override
    public IncomingMessage receive(Envelope envelope) throws IOException {
        throw new IOException("no spool in this test");
    }

    @Override
    public boolean hasRoomForMail() {
        return room;
    }

    @Override
    public Instant now() {
        return Instant.parse("2026-12-02T10:00:00Z");
    }

    @Override
    public void sessionOpened() {
    }

    @Override
    public void tlsSessionEnded() {
    }

    @Override
    public void authFailed() {
        authFailures++;
    }

    @Override
    public void dataReplied(Duration d) {
    }
}
