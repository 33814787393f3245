package org.relaymta.server.smtp;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.metrics.RelayMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.RejectException;

/**
 * Inbound SMTP AUTH (PLAIN and LOGIN) against docker-mailserver's {@code postfix-accounts.cf},
 * read from the current configuration snapshot (so account changes apply without restart).
 * Failures answer {@code 535 5.7.8}; after repeated failures from one address each further
 * attempt waits {@code smtpd_error_sleep_time} longer, as Postfix slows down such clients.
 */
final class AccountAuthenticator implements AuthenticationHandlerFactory {
    private static final Logger log = LoggerFactory.getLogger(AccountAuthenticator.class);
    private static final int FREE_FAILURES = 3;
    private static final int MAX_SLEEP_STEPS = 10;

    private final Supplier<RelayConfig> config;
    private final RelayMetrics metrics;
    private final Map<String, Integer> failuresByAddress = new ConcurrentHashMap<>();

    private final boolean tlsAvailable;

    AccountAuthenticator(Supplier<RelayConfig> config, RelayMetrics metrics, boolean tlsAvailable) {
        this.config = config;
        this.metrics = metrics;
        this.tlsAvailable = tlsAvailable;
    }

    @Override
    public List<String> getAuthenticationMechanisms() {
        return List.of("PLAIN", "LOGIN");
    }

    @Override
    public AuthenticationHandler create() {
        return new Handler();
    }

    private final class Handler implements AuthenticationHandler {
        private String mechanism;
        private String username;
        private String identity;

        @Override
        public Optional<String> auth(String clientInput, MessageContext context) throws RejectException {
            if (mechanism == null) {
                // Like Postfix smtpd_tls_auth_only: never a password over plaintext when TLS is available.
                if (tlsAvailable && context instanceof org.subethamail.smtp.server.Session s && !s.isTLSStarted()
                        && !(s.getSocket() instanceof javax.net.ssl.SSLSocket)) {
                    throw new RejectException(538, "5.7.11 Encryption required for requested authentication mechanism");
                }
                String[] words = clientInput.strip().split("\\s+");
                mechanism = words.length > 1 ? words[1].toUpperCase(Locale.ROOT) : "";
                String initial = words.length > 2 ? words[2] : null;
                if (mechanism.equals("PLAIN")) {
                    return initial == null ? Optional.of("334 ") : plain(initial, context);
                }
                if (mechanism.equals("LOGIN")) {
                    if (initial == null) {
                        return Optional.of("334 VXNlcm5hbWU6");
                    }
                    username = decode(initial);
                    return Optional.of("334 UGFzc3dvcmQ6");
                }
                throw new RejectException(504, "5.5.4 Unrecognized authentication type");
            }
            if (mechanism.equals("PLAIN")) {
                return plain(clientInput.strip(), context);
            }
            if (username == null) {
                username = decode(clientInput.strip());
                return Optional.of("334 UGFzc3dvcmQ6");
            }
            check(username, decode(clientInput.strip()), context);
            return Optional.empty();
        }

        private Optional<String> plain(String response, MessageContext context) throws RejectException {
            String decoded = decode(response);
            String[] parts = decoded.split("\0", -1);
            if (parts.length != 3) {
                throw new RejectException(501, "5.5.2 Invalid AUTH PLAIN response");
            }
            check(parts[1], parts[2], context);
            return Optional.empty();
        }

        private void check(String user, String password, MessageContext context) throws RejectException {
            String client = clientAddress(context);
            int failures = failuresByAddress.getOrDefault(client, 0);
            if (failures >= FREE_FAILURES) {
                sleep(config.get().listener().errorSleepTime().multipliedBy(Math.min(MAX_SLEEP_STEPS, failures - FREE_FAILURES + 1)));
            }
            Optional<String> hash = config.get().accountHash(user);
            if (hash.isPresent() && PasswordHashes.matches(hash.get(), password)) {
                failuresByAddress.remove(client);
                identity = user;
                log.info("client={}, sasl_method={}, sasl_username={}", client, mechanism, user);
                return;
            }
            failuresByAddress.merge(client, 1, Integer::sum);
            metrics.authFailure();
            log.warn("client={}: SASL {} authentication failed for {}", client, mechanism, printable(user));
            throw new RejectException(535, "5.7.8 Error: authentication failed");
        }

        @Override
        public Object getIdentity() {
            return identity;
        }
    }

    private static String decode(String base64) throws RejectException {
        try {
            return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new RejectException(501, "5.5.2 Cannot decode response");
        }
    }

    private static String clientAddress(MessageContext context) {
        return context.getRemoteAddress() instanceof java.net.InetSocketAddress isa && isa.getAddress() != null
                ? isa.getAddress().getHostAddress() : "unknown";
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
