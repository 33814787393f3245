package org.relaymta.core;

import org.relaymta.config.internal.RelayConfig;

/** The configuration snapshot of some settings, for unit tests of the engine's parts. */
public final class Snapshots {
    private Snapshots() {
    }

    public static RelayConfig of(RelaySettings settings) {
        return settings.build();
    }
}
