package org.relaymta.config.internal;

import org.relaymta.config.SmtpClientSettings;

/**
 * How the SMTP client delivers: Postfix's {@code smtp_*} timeouts and TLS settings, the circuit
 * breaker of relay next hops, and the provider quotas of {@code relay-limits.cf}.
 *
 * @param smtp                  SMTP client settings
 * @param relayFailureThreshold {@code relay_failure_threshold}: failed sessions in a row that open a relay hop's circuit breaker
 * @param limits                provider quotas from {@code relay-limits.cf}
 * @param tls                   per-destination TLS policy, trust, DNSSEC and MTA-STS
 * @param bounceClasses         how failures and deferrals are classed ({@code bounce-classes.cf} and the shipped table)
 * @param shaping               what providers' replies change ({@code relay-shaping.cf} and the shipped rules)
 */
public record DeliverySettings(SmtpClientSettings smtp, int relayFailureThreshold, RelayLimits limits, TlsSecurity tls,
                               BounceClasses bounceClasses, ShapingRules shaping) {

    public DeliverySettings(SmtpClientSettings smtp, int relayFailureThreshold, RelayLimits limits, TlsSecurity tls,
                            BounceClasses bounceClasses) {
        this(smtp, relayFailureThreshold, limits, tls, bounceClasses, ShapingRules.shipped());
    }

    public DeliverySettings(SmtpClientSettings smtp, int relayFailureThreshold, RelayLimits limits) {
        this(smtp, relayFailureThreshold, limits, TlsSecurity.defaults(), BounceClasses.shipped());
    }

    public DeliverySettings(SmtpClientSettings smtp, int relayFailureThreshold, RelayLimits limits, TlsSecurity tls) {
        this(smtp, relayFailureThreshold, limits, tls, BounceClasses.shipped());
    }

    public static DeliverySettings defaults() {
        return new DeliverySettings(SmtpClientSettings.postfixDefaults(),
                Params.RELAY_FAILURE_THRESHOLD.parse(Params.RELAY_FAILURE_THRESHOLD.defaultText(), "default"), RelayLimits.none());
    }
}
