package org.relaymta.core.internal.delivery;

/** A next hop could not be turned into addresses; {@link #dsn()} says whether that is final. */
public final class ResolveException extends Exception {
    private final String dsn;

    public ResolveException(String dsn, String message) {
        super(message);
        this.dsn = dsn;
    }

    /** {@code 5.4.4} host not found, {@code 5.1.10} null MX, {@code 4.4.3} temporary DNS failure. */
    public String dsn() {
        return dsn;
    }

    public boolean permanent() {
        return dsn.startsWith("5");
    }
}
