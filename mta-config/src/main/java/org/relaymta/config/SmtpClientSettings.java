package org.relaymta.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Outbound SMTP client timeouts and options, with Postfix's names and defaults
 * ({@code smtp_connect_timeout}, {@code smtp_helo_timeout}, ...).
 *
 * <pre>{@code
 * RelaySettings settings = RelaySettings.defaults().smtp(SmtpClientSettings.postfixDefaults());
 * }</pre>
 */
public record SmtpClientSettings(
        Duration connectTimeout,
        Duration heloTimeout,
        Duration mailTimeout,
        Duration rcptTimeout,
        Duration starttlsTimeout,
        Duration dataInitTimeout,
        Duration dataXferTimeout,
        Duration dataDoneTimeout,
        Duration quitTimeout,
        Duration connectionCacheTimeLimit,
        List<String> saslMechanismFilter,
        Optional<Path> tlsCaFile,
        List<String> tlsProtocols,
        int lineLengthLimit) {

    /** Postfix's {@code smtp_line_length_limit}: longer lines are broken with CR LF SPACE; 0 never breaks. */
    public static final int DEFAULT_LINE_LENGTH_LIMIT = 998;

    /** TLS 1.2 is the floor for every level here. */
    public static final List<String> DEFAULT_TLS_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    public static SmtpClientSettings postfixDefaults() {
        return new SmtpClientSettings(Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofSeconds(300),
                Duration.ofSeconds(300), Duration.ofSeconds(300), Duration.ofSeconds(120), Duration.ofSeconds(180),
                Duration.ofSeconds(600), Duration.ofSeconds(300), Duration.ofSeconds(2), List.of(),
                Optional.empty(), DEFAULT_TLS_PROTOCOLS, DEFAULT_LINE_LENGTH_LIMIT);
    }
}
