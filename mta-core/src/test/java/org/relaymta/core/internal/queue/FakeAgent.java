package org.relaymta.core.internal.queue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.relaymta.core.internal.delivery.DeliveryAgent;
import org.relaymta.core.internal.delivery.DeliveryOutcome;
import org.relaymta.core.internal.delivery.DeliveryRequest;

/**
 * A delivery agent that answers as the test says, records what it was asked to send, and can
 * hold a transaction open until the test lets it finish (to act while a delivery is in flight).
 */
final class FakeAgent implements DeliveryAgent {
    /** Every recipient a transaction was made for, in order. */
    final ConcurrentLinkedQueue<String> attempted = new ConcurrentLinkedQueue<>();
    final AtomicInteger transactions = new AtomicInteger();
    volatile Function<String, DeliveryOutcome> answer = FakeAgent::sent;
    private volatile boolean gated;
    private final Semaphore gate = new Semaphore(0);
    private final Semaphore entered = new Semaphore(0);
    /** The content each recipient's transaction carried. */
    final Map<String, byte[]> contents = new ConcurrentHashMap<>();

    static DeliveryOutcome sent(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.SENT, "2.0.0", "250 Ok", "relay.test[192.0.2.1]:25", "", 0, 0);
    }

    static DeliveryOutcome deferred(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, "4.4.1",
                "host relay.test[192.0.2.1] said: 451 4.4.1 try later", "relay.test[192.0.2.1]:25", "", 0, 0);
    }

    static DeliveryOutcome noSession(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, "4.4.1",
                "connect to relay.test[192.0.2.1]:25: Connection refused", "none", "", 0, 0);
    }

    static DeliveryOutcome bounced(String rcpt) {
        return new DeliveryOutcome(rcpt, DeliveryOutcome.Status.BOUNCED, "5.1.1",
                "host relay.test[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)",
                "relay.test[192.0.2.1]:25", "", 0, 0);
    }

    /** From now on each transaction waits inside the agent until {@link #letOneFinish()}. */
    void gate() {
        gated = true;
    }

    void letOneFinish() {
        gate.release();
    }

    void ungate() {
        gated = false;
        gate.release(1000);
    }

    /** Waits until {@code n} more transactions are inside the agent. */
    boolean awaitEntered(int n) throws InterruptedException {
        return entered.tryAcquire(n, 5, TimeUnit.SECONDS);
    }

    /** Gated transactions wait on a thread of their own, as a real one waits for its server. */
    private final ExecutorService waiting = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-agent");
        t.setDaemon(true);
        return t;
    });

    @Override
    public CompletableFuture<List<DeliveryOutcome>> deliver(DeliveryRequest request) {
        if (gated) {
            return CompletableFuture.supplyAsync(() -> answer(request), waiting);
        }
        try {
            return CompletableFuture.completedFuture(answer(request));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private List<DeliveryOutcome> answer(DeliveryRequest request) {
        transactions.incrementAndGet();
        entered.release();
        if (gated) {
            try {
                if (!gate.tryAcquire(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("test never let the delivery finish");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<DeliveryOutcome> out = new ArrayList<>();
        byte[] content;
        try (InputStream in = request.content().open()) {
            content = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String rcpt : request.recipients()) {
            attempted.add(rcpt);
            contents.put(rcpt, content);
            out.add(answer.apply(rcpt));
        }
        return out;
    }
}
