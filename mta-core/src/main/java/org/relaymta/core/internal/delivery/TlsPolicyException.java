package org.relaymta.core.internal.delivery;

import java.util.Optional;
import org.relaymta.core.internal.tls.ReportPolicy;

/**
 * A destination's TLS policy cannot be had or says the destination cannot be used: the mail is
 * deferred ({@code 4.7.5}), never sent in clear. {@code resultType} is the RFC 8460 failure type,
 * {@code report} the policy the TLS reports count it under.
 */
final class TlsPolicyException extends Exception {
    private final String resultType;
    private final transient Optional<ReportPolicy> report;
    private final String dsn;

    TlsPolicyException(String resultType, String message) {
        this(resultType, message, null);
    }

    TlsPolicyException(String resultType, String message, ReportPolicy report) {
        this(resultType, message, report, "4.7.5");
    }

    /** {@code dsn}: 4.7.5 (the mail waits) or, for REQUIRETLS with no way to meet it, 5.7.30. */
    TlsPolicyException(String resultType, String message, ReportPolicy report, String dsn) {
        super(message, null, false, false);
        this.resultType = resultType;
        this.report = Optional.ofNullable(report);
        this.dsn = dsn;
    }

    String dsn() {
        return dsn;
    }

    String resultType() {
        return resultType;
    }

    Optional<ReportPolicy> report() {
        return report;
    }
}
