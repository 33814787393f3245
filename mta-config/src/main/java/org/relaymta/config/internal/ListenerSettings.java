package org.relaymta.config.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Inbound SMTP policy, Postfix {@code smtpd_*} names.
 *
 * @param tlsCertFile             {@code smtpd_tls_cert_file} (or the first of {@code smtpd_tls_chain_files}); PEM
 * @param tlsKeyFile              {@code smtpd_tls_key_file}; PEM; may be the same file as the certificate
 * @param clientConnectionLimit   {@code smtpd_client_connection_count_limit}: sessions per client address
 * @param sessionLimit            {@code default_process_limit}: sessions in all
 * @param recipientLimit          {@code smtpd_recipient_limit}: recipients per message
 * @param timeout                 {@code smtpd_timeout}: per read, and the deadline for the whole DATA phase
 * @param errorSleepTime          {@code smtpd_error_sleep_time}: delay after repeated AUTH failures
 * @param hardErrorLimit          {@code smtpd_hard_error_limit}: refused commands before the session is dropped
 * @param recipientOvershootLimit {@code smtpd_recipient_overshoot_limit}: recipients over the limit answered
 *                                {@code 452 4.5.3} before each further one counts as an error
 * @param clientConnectionRateLimit {@code smtpd_client_connection_rate_limit}: connections per client address
 *                                per {@code anvil_rate_time_unit}; 0 for no limit
 * @param rateTimeUnit            {@code anvil_rate_time_unit}
 * @param stressTimeout           {@code smtpd_timeout} under stress (sessions at 80% of the total limit or more),
 *                                Postfix's {@code ${stress?{10}:{300}}}
 * @param senders                 who may use which sender: restrictions, login maps, the authenticated header
 */
public record ListenerSettings(Optional<Path> tlsCertFile, Optional<Path> tlsKeyFile, int clientConnectionLimit,
                               int sessionLimit, int recipientLimit, Duration timeout, Duration errorSleepTime,
                               int hardErrorLimit, int recipientOvershootLimit, int clientConnectionRateLimit,
                               Duration rateTimeUnit, Duration stressTimeout, SenderPolicy senders) {

    public static ListenerSettings postfixDefaults() {
        return new ListenerSettings(Optional.empty(), Optional.empty(), 50, 100, 1000, Duration.ofSeconds(300),
                Duration.ofSeconds(1), 20, 1000, 0, Duration.ofSeconds(60), Duration.ofSeconds(10), SenderPolicy.defaults());
    }

    /** The timeout in force: the stress one while the listener is under stress. */
    public Duration timeout(boolean stress) {
        return stress && stressTimeout.compareTo(timeout) < 0 ? stressTimeout : timeout;
    }
}
