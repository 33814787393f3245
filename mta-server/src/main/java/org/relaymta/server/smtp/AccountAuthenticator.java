package org.relaymta.server.smtp;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.metrics.RelayMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks inbound SMTP AUTH credentials against docker-mailserver's {@code postfix-accounts.cf},
 * read from the current configuration snapshot (account changes apply without restart). After
 * repeated failures from one address each further answer is delayed by {@code smtpd_error_sleep_time}
 * more, as Postfix slows such clients down. Passwords are never logged.
 */
final class AccountAuthenticator {
    private static final Logger log = LoggerFactory.getLogger(AccountAuthenticator.class);
    private static final int FREE_FAILURES = 3;
    private static final int MAX_SLEEP_STEPS = 10;

    private final Supplier<RelayConfig> config;
    private final RelayMetrics metrics;
    private final Map<String, Integer> failuresByAddress = new ConcurrentHashMap<>();

    AccountAuthenticator(Supplier<RelayConfig> config, RelayMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    /** How long to hold back the answer to this client's next attempt. */
    Duration delayFor(String client) {
        int failures = failuresByAddress.getOrDefault(client, 0);
        if (failures < FREE_FAILURES) {
            return Duration.ZERO;
        }
        return config.get().listener().errorSleepTime().multipliedBy(Math.min(MAX_SLEEP_STEPS, failures - FREE_FAILURES + 1));
    }

    /** True when the password matches the account's hash. Slow by design (crypt rounds): call off the event loop. */
    boolean check(String mechanism, String user, String password, String client) {
        Optional<String> hash = config.get().accountHash(user);
        if (hash.isPresent() && PasswordHashes.matches(hash.get(), password)) {
            failuresByAddress.remove(client);
            log.info("client={}, sasl_method={}, sasl_username={}", client, mechanism, user);
            return true;
        }
        failuresByAddress.merge(client, 1, Integer::sum);
        metrics.authFailure();
        log.warn("client={}: SASL {} authentication failed for {}", client, mechanism, printable(user));
        return false;
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
