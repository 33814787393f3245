package org.relaymta.config.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * What outbound TLS security needs beyond the levels: the per-destination policy table, where PKIX
 * trust comes from besides {@code smtp_tls_CAfile}, whether DNSSEC answers are trusted (DANE),
 * whether MTA-STS applies to MX delivery, and the TLS reports.
 *
 * @param policies {@code smtp_tls_policy_maps}
 * @param caPath   {@code smtp_tls_CApath}
 * @param dnssec   {@code smtp_dns_support_level = dnssec}
 * @param mtaSts   {@code smtp_mta_sts}
 * @param stsPort  the HTTPS port of policy hosts ({@code MTA_STS_PORT}, 443)
 * @param reports  {@code smtp_tlsrpt_enable} and the report settings
 */
public record TlsSecurity(TlsPolicies policies, Optional<Path> caPath, boolean dnssec, boolean mtaSts, int stsPort,
                          Reporting reports) {

    /**
     * RFC 8460 reports.
     *
     * @param organization {@code tlsrpt_organization_name}
     * @param contact      {@code tlsrpt_contact_info}
     * @param sender       {@code tlsrpt_sender}
     * @param interval     {@code tlsrpt_interval}
     */
    public record Reporting(boolean enabled, String organization, String contact, String sender, Duration interval) {
    }

    /** The same with DNSSEC answers trusted or not. */
    public TlsSecurity withDnssec(boolean on) {
        return new TlsSecurity(policies, caPath, on, mtaSts, stsPort, reports);
    }

    public static TlsSecurity defaults() {
        return new TlsSecurity(TlsPolicies.none(), Optional.empty(), false, true, 443,
                new Reporting(false, "localhost", "postmaster@localhost", "postmaster@localhost", Duration.ofDays(1)));
    }
}
