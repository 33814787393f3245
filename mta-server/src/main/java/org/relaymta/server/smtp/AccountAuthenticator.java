package org.relaymta.server.smtp;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.RelayConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks inbound SMTP AUTH credentials against docker-mailserver's {@code postfix-accounts.cf},
 * read from the current configuration snapshot (account changes apply without restart).
 * <ul>
 * <li>An unknown user's password is checked against another account's hash, so the answer takes
 *     as long as for a known user and timing tells nothing.</li>
 * <li>Failures are counted per client address over all its sessions ({@link AuthFailureBudget});
 *     after a few, each answer is held back {@code smtpd_error_sleep_time} more, and past the
 *     budget AUTH is refused outright.</li>
 * <li>Failures are logged as Postfix logs them ({@code unknown[IP]: SASL LOGIN authentication
 *     failed: ...}), which fail2ban's Postfix filters match. Passwords are never logged.</li>
 * </ul>
 */
final class AccountAuthenticator {
    private static final Logger log = LoggerFactory.getLogger("org.relaymta.smtpd");
    private static final int FREE_FAILURES = 3;
    private static final int MAX_SLEEP_STEPS = 10;
    /** A SHA512-CRYPT hash (salt, default 5000 rounds) nobody can match: the cost of a check when there are no accounts. */
    private static final String DUMMY_HASH =
            "{SHA512-CRYPT}$6$S8iX3DAf1wUt3W7g$2EbbMZ.s4wzP1W4KvzFE9vF9p8Z3XbE2lCj3Hn7SnG8eS0jLQh1g7l5mBv0lYq6Hk8J2nQ2r4pL1cVbG6tY0u.";

    private final Supplier<RelayConfig> config;
    private final SmtpReceiver receiver;
    private final AuthFailureBudget budget;

    AccountAuthenticator(Supplier<RelayConfig> config, SmtpReceiver receiver, Clock clock) {
        this.config = config;
        this.receiver = receiver;
        this.budget = new AuthFailureBudget(clock);
    }

    /** Whether this address has attempts left now (false: refuse its AUTH); reserves nothing. */
    boolean mayTry(InetAddress client) {
        return client == null || budget.mayTry(client);
    }

    /**
     * Reserves one attempt for a password about to be checked, or returns false when the address
     * has none left; {@link #check} settles it.
     */
    boolean begin(InetAddress client) {
        return client == null || budget.begin(client);
    }

    /** How long to hold back the answer to this client's next attempt. */
    Duration delayFor(InetAddress client) {
        int failures = client == null ? 0 : budget.failuresOf(client);
        if (failures < FREE_FAILURES) {
            return Duration.ZERO;
        }
        return config.get().listener().errorSleepTime().multipliedBy(Math.min(MAX_SLEEP_STEPS, failures - FREE_FAILURES + 1));
    }

    /**
     * An AUTH PLAIN that asked to act for another identity: refused without a password check, counted
     * as a failure, logged as Postfix logs a failed AUTH (with both names escaped).
     */
    void refuseAuthorization(InetAddress client, String authzid, String authcid) {
        if (client != null) {
            budget.failed(client);
        }
        receiver.authFailed();
        log.warn("unknown[{}]: SASL PLAIN authentication failed: authorization identity '{}' is not the authentication "
                + "identity '{}'", client == null ? "unknown" : client.getHostAddress(), LogText.escape(authzid),
                LogText.escape(authcid));
    }

    /** True when the password matches the account's hash. Slow by design (crypt rounds): call off the event loop. */
    boolean check(String mechanism, String user, String password, InetAddress client) {
        RelayConfig cfg = config.get();
        Optional<String> hash = cfg.listener().accountHash(user);
        boolean ok;
        if (hash.isPresent()) {
            ok = PasswordHashes.matches(hash.get(), password);
        } else {
            // The same work as for a known user; the result does not matter.
            PasswordHashes.matches(cfg.listener().anyAccountHash().orElse(DUMMY_HASH), password);
            ok = false;
        }
        String ip = client == null ? "unknown" : client.getHostAddress();
        if (ok) {
            if (client != null) {
                budget.succeeded(client);
            }
            log.info("client=unknown[{}], sasl_method={}, sasl_username={}", ip, mechanism, user);
            return true;
        }
        if (client != null) {
            budget.failed(client);
        }
        receiver.authFailed();
        // Exactly Postfix's line: fail2ban filters anchor their expression at its end.
        log.warn("unknown[{}]: SASL {} authentication failed: authentication failure", ip, mechanism);
        return false;
    }
}
