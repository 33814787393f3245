package org.relaymta.config.internal;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What outbound TLS security needs beyond the levels: the per-destination policy table, where PKIX
 * trust comes from besides {@code smtp_tls_CAfile}, whether DNSSEC answers are trusted (DANE), and
 * whether MTA-STS applies to MX delivery.
 *
 * @param policies {@code smtp_tls_policy_maps}
 * @param caPath   {@code smtp_tls_CApath}
 * @param dnssec   {@code smtp_dns_support_level = dnssec}
 */
public record TlsSecurity(TlsPolicies policies, Optional<Path> caPath, boolean dnssec) {

    public static TlsSecurity defaults() {
        return new TlsSecurity(TlsPolicies.none(), Optional.empty(), false);
    }
}
