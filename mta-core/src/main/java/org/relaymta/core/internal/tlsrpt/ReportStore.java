package org.relaymta.core.internal.tlsrpt;

import java.util.Set;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * Where session counts wait for their report: on this node's disk, or in Redis shared by the nodes.
 * Periods are identified by their start (epoch seconds). Called from the reports' own thread only.
 */
interface ReportStore extends AutoCloseable {
    void add(long period, TlsSessionResult result);

    /** Periods that have counts and started before {@code period}. */
    Set<Long> periodsBefore(long period);

    Set<String> domains(long period);

    ReportCounts counts(long period, String domain);

    /** Whether this node is the one to send the report of {@code domain} for {@code period} (once among all nodes). */
    boolean claim(long period, String domain);

    /** The report was sent (or given up): its counts go. */
    void done(long period, String domain);

    /** Makes what was counted so far survive a restart. */
    void flush();

    @Override
    void close();
}
