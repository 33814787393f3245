package org.relaymta.core.internal.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.relaymta.core.internal.spool.SpoolFence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spool takeover among nodes whose spools lie under one root ({@code <root>/<node-id>/}): this
 * node holds the lease of its own spool and renews it every third of it; a sibling spool whose
 * lease lapsed (its node died or stopped) is adopted: lease taken with a newer generation,
 * the generation written into the spool, and the spool run as a second queue by the
 * {@link Adopter}. An adopted spool is handed back when its owner is back and asks for it, once it
 * is drained, or at once on an operator's hand-back. A node that finds its own lease held by another is
 * fenced: it changes nothing more in its spool.
 *
 * <p>{@link #tick()} does one round (the caller runs it every third of the lease), on the injected
 * clock, so tests move time instead of waiting.
 */
public final class SpoolTakeover {
    private static final Logger LOG = LoggerFactory.getLogger("org.relaymta.cluster");

    /** Runs an adopted spool as a second queue (no new mail into it). */
    public interface Adopter {
        Adopted start(Path spool, SpoolFence fence) throws IOException;
    }

    /** An adopted spool's queue. */
    public interface Adopted {
        /** Nothing left to deliver. */
        boolean drained();

        /** Stops delivering and lets the spool go (its file lock released). */
        void stop();
    }

    /** What {@code /health} and {@code mta cluster status} say. */
    public record Status(String node, String spool, long generation, boolean fenced, Map<String, Long> adopted,
                         long takeovers) {
    }

    private record Adoption(long generation, SpoolFence fence, Adopted queue, Instant since) {
    }

    private final Path root;
    private final String node;
    private final SpoolLeases leases;
    private final Duration lease;
    private final Clock clock;
    private final Adopter adopter;
    private final Consumer<String> ownLost;
    private final Map<String, Adoption> adopted = new ConcurrentHashMap<>();
    /** The lease store's epoch last seen, and until when nothing is adopted after it changed (a Redis restart). */
    private String epoch;
    private Instant quietUntil = Instant.MIN;
    private volatile long generation;
    private volatile SpoolFence fence;
    private volatile boolean fenced;
    private volatile long takeovers;
    private boolean redisWarned;

    /**
     * @param ownLost told once, with why, when this node's own spool was taken from it (it must stop)
     */
    public SpoolTakeover(Path root, String node, SpoolLeases leases, Duration lease, Clock clock, Adopter adopter,
                         Consumer<String> ownLost) {
        this.root = root;
        this.node = node;
        this.leases = leases;
        this.lease = lease;
        this.clock = clock;
        this.adopter = adopter;
        this.ownLost = ownLost;
    }

    /** This node's own spool directory. */
    public Path ownSpool() {
        return root.resolve(node);
    }

    /**
     * One try at this node's own spool: its lease (taken back at once from an earlier run of this
     * node), the generation written into it. Empty while another node runs it; that node is then
     * asked to hand it back.
     */
    public OptionalLong claimOwn() throws Exception {
        Path dir = ownSpool();
        Files.createDirectories(dir);
        long onDisk = SpoolFence.read(dir);
        var holder = leases.holder(node);
        if (holder.isPresent() && holder.get().node().equals(node)) {
            // An earlier run of this node (killed before its lease expired): it is gone, the lease is ours.
            leases.release(node, node, holder.get().generation());
        }
        OptionalLong g = leases.acquire(node, node, lease, onDisk);
        if (g.isEmpty()) {
            leases.ask(node, node, lease.multipliedBy(4));
            return g;
        }
        generation = g.getAsLong();
        return g;
    }

    /** Writes the claimed generation into the own spool: the fence every change of it checks from now on. */
    public SpoolFence fenceOwn() throws IOException {
        fence = SpoolFence.take(ownSpool(), generation, f -> lost(f.getMessage()));
        return fence;
    }

    /** Who holds this node's own spool now (while it waits), or null. */
    public String ownHolder() {
        try {
            return leases.holder(node).map(SpoolLeases.Holder::node).orElse(null);
        } catch (Exception e) {
            return null;
        }
    }

    /** One round: renew the own lease, keep or hand back adopted spools, adopt spools whose node died. */
    public synchronized void tick() {
        Instant now = clock.instant();
        try {
            renewOwn();
            keepAdopted();
            adoptOrphans(now);
            redisWarned = false;
        } catch (Exception e) {
            // Nobody can take a lease while Redis is away either: keep running, try again next round.
            if (!redisWarned) {
                redisWarned = true;
                LOG.warn("spool takeover: cannot reach the lease store: {}; no spool changes hands until it is back",
                        e.getMessage());
            }
        }
    }

    private void renewOwn() throws Exception {
        if (fenced || fence == null) {
            return;
        }
        if (!leases.renew(node, node, generation, lease)) {
            String by = leases.holder(node).map(h -> h.node() + " (generation " + h.generation() + ")").orElse("another node");
            fence.fence("its lease was taken by " + by);
        }
    }

    private void lost(String why) {
        if (!fenced) {
            fenced = true;
            LOG.error("spool takeover: {}", why);
            ownLost.accept(why);
        }
    }

    private void keepAdopted() throws Exception {
        for (Map.Entry<String, Adoption> e : List.copyOf(adopted.entrySet())) {
            String spool = e.getKey();
            Adoption a = e.getValue();
            if (a.fence().fenced() || !leases.renew(spool, node, a.generation(), lease)) {
                LOG.warn("spool takeover: spool {} was taken by another node; this node stops delivering it", spool);
                a.fence().fence("its lease was taken by another node");
                a.queue().stop();
                adopted.remove(spool);
                continue;
            }
            // Its owner is back and asks for it: handed back once drained, or at once on the operator's word.
            boolean now = leases.handBackNowAsked(spool);
            if (leases.asked(spool) && (now || a.queue().drained())) {
                a.queue().stop();
                leases.release(spool, node, a.generation());
                adopted.remove(spool);
                LOG.info("spool takeover: spool {} handed back{}", spool, now ? " at the operator's request" : " (drained)");
            }
        }
    }

    private void adoptOrphans(Instant now) throws Exception {
        String e = leases.epoch();
        if (!e.equals(epoch)) {
            // Just started, or the store lost every lease (Redis restarted empty): the owners put theirs
            // back within a round; until a whole lease time has passed, a missing lease says nothing.
            quietUntil = now.plus(lease);
            if (epoch != null) {
                LOG.warn("spool takeover: the lease store restarted empty; no spool is adopted before {}", quietUntil);
            }
            epoch = e;
        }
        if (now.isBefore(quietUntil) || !Files.isDirectory(root)) {
            return;
        }
        List<String> siblings = new ArrayList<>();
        try (var dirs = Files.list(root)) {
            dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals(node) && !adopted.containsKey(n)).forEach(siblings::add);
        }
        for (String spool : siblings) {
            if (!Files.exists(root.resolve(spool).resolve("journal")) && !Files.exists(root.resolve(spool).resolve("queue"))) {
                continue;   // not a spool
            }
            // No holder: the node's lease lapsed (it renews every third of it), so the node is gone;
            // unless it is back and asks for its spool (handed back a moment ago): it takes it itself.
            if (leases.holder(spool).isEmpty() && !leases.asked(spool)) {
                adopt(spool);
            }
        }
    }

    private void adopt(String spool) throws Exception {
        Path dir = root.resolve(spool);
        OptionalLong g = leases.acquire(spool, node, lease, SpoolFence.read(dir));
        if (g.isEmpty()) {
            return;   // another node was first
        }
        try {
            SpoolFence f = SpoolFence.take(dir, g.getAsLong(), x -> LOG.warn("spool takeover: {}", x.getMessage()));
            Adopted q = adopter.start(dir, f);
            adopted.put(spool, new Adoption(g.getAsLong(), f, q, clock.instant()));
            takeovers++;
            LOG.warn("spool takeover: adopted spool {} (generation {}): its node's lease lapsed; delivering its queue",
                    spool, g.getAsLong());
        } catch (IOException | RuntimeException e) {
            leases.release(spool, node, g.getAsLong());
            LOG.error("spool takeover: cannot run spool {}: {}", spool, e.getMessage());
        }
    }

    /** Stops every adopted queue and gives their leases (and the own one) up: a clean stop. */
    public synchronized void close() {
        for (Map.Entry<String, Adoption> e : List.copyOf(adopted.entrySet())) {
            e.getValue().queue().stop();
            try {
                leases.release(e.getKey(), node, e.getValue().generation());
            } catch (Exception ignored) {
                // the lease lapses
            }
        }
        adopted.clear();
        if (fence != null && !fenced) {
            try {
                leases.release(node, node, generation);
            } catch (Exception ignored) {
                // the lease lapses
            }
        }
    }

    public Status status() {
        Map<String, Long> a = new HashMap<>();
        adopted.forEach((s, x) -> a.put(s, x.generation()));
        return new Status(node, ownSpool().toString(), generation, fenced, a, takeovers);
    }
}
