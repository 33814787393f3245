package org.relaymta.core.internal.spool;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Content on its way into the spool, counted against {@code message_size_limit}: the write that
 * would go past the limit (together with what {@code alsoCounted} says is already there, such as
 * a header section kept elsewhere) fails with the caller's exception, and nothing of it is written.
 */
public final class LimitedOutputStream extends FilterOutputStream {
    private final long limit;
    private final LongSupplier alsoCounted;
    private final Supplier<? extends IOException> tooBig;
    private long written;

    /** {@code limit} 0 means none. */
    public LimitedOutputStream(OutputStream out, long limit, LongSupplier alsoCounted, Supplier<? extends IOException> tooBig) {
        super(out);
        this.limit = limit;
        this.alsoCounted = alsoCounted;
        this.tooBig = tooBig;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (limit > 0 && alsoCounted.getAsLong() + written + len > limit) {
            throw tooBig.get();
        }
        written += len;
        out.write(b, off, len);
    }

    /** Bytes written through this stream. */
    public long written() {
        return written;
    }
}
