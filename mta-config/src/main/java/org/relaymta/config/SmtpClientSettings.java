package org.relaymta.config;

import java.time.Duration;
import java.util.List;

/** Outbound SMTP client timeouts and options, Postfix names and defaults (relay-semantics section 8). */
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
        List<String> saslMechanismFilter) {

    public static SmtpClientSettings postfixDefaults() {
        return new SmtpClientSettings(Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofSeconds(300),
                Duration.ofSeconds(300), Duration.ofSeconds(300), Duration.ofSeconds(120), Duration.ofSeconds(180),
                Duration.ofSeconds(600), Duration.ofSeconds(300), Duration.ofSeconds(2), List.of());
    }
}
