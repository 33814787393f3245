package org.relaymta.core.internal.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.internal.spool.SpoolFence;
import org.relaymta.testing.MovedClock;

/**
 * The lease and generation rules of spool takeover on a moved clock: a dead node's spool is adopted
 * in the first round after its lease lapsed, by one node only, with a newer generation written into
 * it; the old owner coming back is fenced; the owner gets its spool back once the adopter hands it
 * back; a Redis restart (empty) makes no spool change hands.
 */
class SpoolTakeoverTest {
    private static final Duration LEASE = Duration.ofSeconds(15);

    @TempDir
    Path root;

    private final MovedClock clock = new MovedClock();
    private final MemoryLeases leases = new MemoryLeases(clock);
    private final List<String> started = new ArrayList<>();
    private final List<String> stopped = new ArrayList<>();
    private final AtomicBoolean drained = new AtomicBoolean();

    private SpoolTakeover node(String name, List<String> lost) throws Exception {
        Files.createDirectories(root.resolve(name).resolve("queue"));
        SpoolTakeover t = new SpoolTakeover(root, name, leases, LEASE, clock, (dir, fence) -> {
            started.add(name + " runs " + dir.getFileName() + " at generation " + fence.generation());
            return new SpoolTakeover.Adopted() {
                @Override
                public boolean drained() {
                    return drained.get();
                }

                @Override
                public void stop() {
                    stopped.add(name + " stops " + dir.getFileName());
                }
            };
        }, lost::add);
        assertThat(t.claimOwn()).isPresent();
        t.fenceOwn();
        return t;
    }

    /** Runs every node's round, then moves the clock a third of the lease. */
    private void rounds(int n, SpoolTakeover... nodes) {
        for (int i = 0; i < n; i++) {
            for (SpoolTakeover t : nodes) {
                t.tick();
            }
            clock.advance(LEASE.dividedBy(3));
        }
    }

    @Test
    void aDeadNodesSpoolIsAdoptedOnceAfterALeaseTimeWithANewerGeneration() throws Exception {
        List<String> lost = new ArrayList<>();
        SpoolTakeover a = node("a", lost);
        SpoolTakeover b = node("b", lost);
        SpoolTakeover c = node("c", lost);
        rounds(6, a, b, c);
        assertThat(started).as("everyone alive: nothing adopted").isEmpty();
        long aGeneration = SpoolFence.read(root.resolve("a"));

        // a dies (kill -9) after its last renewal 5 s ago: its lease runs 10 s more.
        rounds(2, b, c);
        assertThat(started).as("a's lease still runs").isEmpty();
        rounds(1, b, c);
        assertThat(started).hasSize(1);
        assertThat(started.get(0)).matches("[bc] runs a at generation " + (aGeneration + 1));
        assertThat(SpoolFence.read(root.resolve("a"))).isEqualTo(aGeneration + 1);
        rounds(6, b, c);
        assertThat(started).as("adopted by one node only").hasSize(1);
        assertThat(lost).isEmpty();
    }

    @Test
    void aPausedOwnerThatComesBackIsFencedAndChangesNothing() throws Exception {
        List<String> lost = new ArrayList<>();
        SpoolTakeover b = node("b", lost);
        SpoolTakeover c = node("c", lost);
        SpoolFence bFence = SpoolFence.take(root.resolve("b"), b.status().generation(), x -> { });
        // b is stopped (kill -STOP) for longer than its lease: c adopts its spool.
        rounds(8, c);
        assertThat(started).containsExactly("c runs b at generation " + (b.status().generation() + 1));
        // b continues: its next change finds the newer generation on disk, and its lease is c's.
        clock.advance(Duration.ofSeconds(1));
        Thread.sleep(SpoolFence.RECHECK_MILLIS + 20);
        assertThatThrownBy(bFence::check).isInstanceOf(SpoolFence.FencedException.class)
                .hasMessageContaining("taken over by another node");
        b.tick();
        assertThat(lost).singleElement().asString().contains("its lease was taken by c");
        assertThat(b.status().fenced()).isTrue();
    }

    @Test
    void theOwnerGetsItsSpoolBackOnlyAfterTheAdopterHandsItBack() throws Exception {
        List<String> lost = new ArrayList<>();
        node("a", lost);
        SpoolTakeover b = node("b", lost);
        rounds(8, b);
        assertThat(started).containsExactly("b runs a at generation 2");

        // a starts again: its spool is b's; it asks for it and waits.
        SpoolTakeover a2 = new SpoolTakeover(root, "a", leases, LEASE, clock, (d, f) -> null, lost::add);
        assertThat(a2.claimOwn()).isEmpty();
        assertThat(a2.ownHolder()).isEqualTo("b");
        rounds(2, b);
        assertThat(stopped).as("not drained yet: b keeps delivering it").isEmpty();
        drained.set(true);
        a2.claimOwn();   // asks again while it waits
        rounds(1, b);
        assertThat(stopped).containsExactly("b stops a");
        assertThat(a2.claimOwn()).hasValue(3);
        a2.fenceOwn();
        assertThat(SpoolFence.read(root.resolve("a"))).isEqualTo(3);
        rounds(8, a2, b);
        assertThat(started).as("not adopted again").hasSize(1);
    }

    @Test
    void anOperatorsHandBackIsAtOnceAndARedisRestartMovesNoSpool() throws Exception {
        List<String> lost = new ArrayList<>();
        node("a", lost);
        SpoolTakeover b = node("b", lost);
        SpoolTakeover c = node("c", lost);
        rounds(8, b, c);
        assertThat(started).hasSize(1);
        String adopter = started.get(0).substring(0, 1);
        // a is back and asks; its spool is not drained, the operator says hand it back now.
        SpoolTakeover a2 = new SpoolTakeover(root, "a", leases, LEASE, clock, (d, f) -> null, lost::add);
        assertThat(a2.claimOwn()).isEmpty();
        rounds(1, b, c);
        assertThat(stopped).isEmpty();
        leases.handBackNow("a", Duration.ofMinutes(1));
        rounds(1, b, c);
        assertThat(stopped).containsExactly(adopter + " stops a");
        assertThat(a2.claimOwn()).isPresent();
        a2.fenceOwn();

        // Redis restarts empty: every owner puts its lease back within a round; nobody adopts a live node's spool.
        started.clear();
        leases.flush();
        rounds(10, a2, b, c);
        assertThat(started).as("every node is alive: nothing changes hands").isEmpty();
        assertThat(lost).isEmpty();
        // Redis away: no spool changes hands, nobody is fenced.
        leases.down = true;
        rounds(10, a2, b, c);
        assertThat(lost).isEmpty();
        assertThat(b.status().fenced()).isFalse();
    }
}
