package org.relaymta.config.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Inbound SMTP policy, Postfix {@code smtpd_*} names.
 *
 * @param mynetworks              clients allowed to relay without AUTH ({@code mynetworks}, {@code MTA_MYNETWORKS})
 * @param accounts                submission users from {@code postfix-accounts.cf}: lower-cased address to {@code {SCHEME}hash}
 * @param bareNewlinePolicy       {@code smtpd_forbid_bare_newline}
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
public record ListenerSettings(Networks mynetworks, Map<String, String> accounts, BareNewlinePolicy bareNewlinePolicy,
                               Optional<Path> tlsCertFile, Optional<Path> tlsKeyFile, int clientConnectionLimit,
                               int sessionLimit, int recipientLimit, Duration timeout, Duration errorSleepTime,
                               int hardErrorLimit, int recipientOvershootLimit, int clientConnectionRateLimit,
                               Duration rateTimeUnit, Duration stressTimeout, SenderPolicy senders) {

    /** Postfix's defaults, from the {@link Params} table. */
    public static ListenerSettings postfixDefaults() {
        return of(ParamValues.given(Map.of()), Map.of(), Optional.empty(), Optional.empty(), SenderPolicy.defaults());
    }

    /** The listener section from the values in force, with what the config directory adds (accounts, TLS files, logins). */
    public static ListenerSettings of(ParamValues v, Map<String, String> accounts, Optional<Path> cert, Optional<Path> key,
                               SenderPolicy senders) {
        Networks networks = Networks.parse(v.explicit(Params.MYNETWORKS).orElse(Params.MYNETWORKS.defaultText()),
                v.isSet(Params.MYNETWORKS) ? v.where(Params.MYNETWORKS) : "default mynetworks");
        return new ListenerSettings(networks, Map.copyOf(accounts), v.get(Params.SMTPD_FORBID_BARE_NEWLINE), cert, key,
                v.get(Params.SMTPD_CLIENT_CONNECTION_COUNT_LIMIT), v.get(Params.DEFAULT_PROCESS_LIMIT),
                v.get(Params.SMTPD_RECIPIENT_LIMIT), SmtpdTimeout.of(v, false), v.get(Params.SMTPD_ERROR_SLEEP_TIME),
                v.get(Params.SMTPD_HARD_ERROR_LIMIT), v.get(Params.SMTPD_RECIPIENT_OVERSHOOT_LIMIT),
                v.get(Params.SMTPD_CLIENT_CONNECTION_RATE_LIMIT), v.get(Params.ANVIL_RATE_TIME_UNIT), SmtpdTimeout.of(v, true),
                senders);
    }

    /** The timeout in force: the stress one while the listener is under stress. */
    public Duration timeout(boolean stress) {
        return stress && stressTimeout.compareTo(timeout) < 0 ? stressTimeout : timeout;
    }

    /**
     * Some account's hash (the first), to check an unknown user's password against at the same
     * cost as a known one's, so response time does not tell which users exist.
     */
    public Optional<String> anyAccountHash() {
        return accounts.values().stream().findFirst();
    }

    /** The account's password hash ({@code {SHA512-CRYPT}$6$...}), if the user exists. */
    public Optional<String> accountHash(String user) {
        return Optional.ofNullable(accounts.get(user.toLowerCase(Locale.ROOT)));
    }

    /** {@code smtpd_timeout} as Postfix writes it: {@code ${stress?{10}:{300}}s}, or one value for both states. */
    private static final class SmtpdTimeout {
        private static final Pattern STRESS =
                Pattern.compile("\\$\\{stress\\?\\{?([^}:]*)\\}?:\\{?([^}]*)\\}?\\}(\\w*)");

        /** A plain value applies in both states, except that the stress default stays when it is shorter. */
        static Duration of(ParamValues v, boolean stress) {
            String text = v.explicit(Params.SMTPD_TIMEOUT).orElse(Params.SMTPD_TIMEOUT.defaultText()).strip();
            String where = v.where(Params.SMTPD_TIMEOUT);
            Duration stressDefault = choose(Params.SMTPD_TIMEOUT.defaultText(), true, where);
            Matcher m = STRESS.matcher(text);
            if (m.matches()) {
                return choose(text, stress, where);
            }
            Duration plain = Durations.parse(text, 's', where);
            return stress && stressDefault.compareTo(plain) < 0 ? stressDefault : plain;
        }

        private static Duration choose(String text, boolean stress, String where) {
            Matcher m = STRESS.matcher(text);
            if (!m.matches()) {
                return Durations.parse(text, 's', where);
            }
            return Durations.parse((stress ? m.group(1) : m.group(2)).strip() + m.group(3), 's', where);
        }
    }
}
