package org.relaymta.core.internal;

import java.util.function.Supplier;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.spool.SpoolFence;

/**
 * How the relay's own server module reaches what a {@code RelayEngine} does not show applications:
 * its {@link EngineInternals}, and a builder option that takes a configuration snapshot supplier
 * (the server watches its config directory itself). The engine installs the accessor when its
 * class loads (the JDK's "shared secrets" pattern), so the public API names no internal type and
 * this package, exported only to the server, never depends on the API package above it.
 */
public final class EngineAccess {
    /** What the engine class gives this package. */
    public interface Accessor {
        EngineInternals internals(Object engine);

        void config(Object builder, Supplier<RelayConfig> config);

        void fence(Object builder, SpoolFence fence, boolean adopted);
    }

    private static volatile Accessor accessor;

    private EngineAccess() {
    }

    /** Called once, by the engine class's static initializer. */
    public static void install(Accessor a) {
        accessor = a;
    }

    /** The internals of a started engine. */
    public static EngineInternals internals(Object engine) {
        return accessor().internals(engine);
    }

    /** Gives a {@code RelayEngine.Builder} the configuration supplier the server keeps current. */
    public static void config(Object builder, Supplier<RelayConfig> config) {
        accessor().config(builder, config);
    }

    /**
     * Gives a {@code RelayEngine.Builder} the fence of a spool nodes take over from each other;
     * {@code adopted}: a dead (or paused) node's spool, whose file lock its old owner may still hold.
     */
    public static void fence(Object builder, SpoolFence fence, boolean adopted) {
        accessor().fence(builder, fence, adopted);
    }

    private static Accessor accessor() {
        if (accessor == null) {
            try {
                Class.forName("org.relaymta.core.RelayEngine", true, EngineAccess.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        return accessor;
    }
}
