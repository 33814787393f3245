package org.relaymta.core.internal.suppress;

import java.util.List;
import java.util.Optional;
import org.relaymta.core.queue.Suppression;
import org.relaymta.core.queue.SuppressionList;

/** The list of a queue manager given none (unit tests): nothing is suppressed, nothing can be. */
public final class NoSuppressions implements SuppressionList {
    public static final NoSuppressions INSTANCE = new NoSuppressions();

    private NoSuppressions() {
    }

    @Override
    public List<Suppression> list() {
        return List.of();
    }

    @Override
    public Optional<Suppression> find(String address) {
        return Optional.empty();
    }

    @Override
    public Suppression add(String address, String reason) {
        throw new UnsupportedOperationException("this relay keeps no suppression list");
    }

    @Override
    public boolean remove(String address) {
        return false;
    }
}
