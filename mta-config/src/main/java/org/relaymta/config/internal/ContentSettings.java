package org.relaymta.config.internal;

import java.util.List;

/**
 * What happens to a message's content: the size limit, {@code header_checks} when it is accepted
 * and {@code smtp_header_checks} when it is sent, the milters, and DKIM signing.
 *
 * @param messageSizeLimit  {@code message_size_limit} in bytes; 0 for none
 * @param headerChecks      {@code header_checks}: applied once when a message is accepted
 * @param smtpHeaderChecks  {@code smtp_header_checks}: applied to what the client sends, at each delivery
 * @param milters           {@code smtpd_milters}, {@code non_smtpd_milters} and their settings
 * @param dkim              DKIM signing keys by sender ({@code opendkim/} or {@code rspamd/dkim/} in the config directory)
 */
public record ContentSettings(long messageSizeLimit, HeaderChecks headerChecks, HeaderChecks smtpHeaderChecks,
                              MilterSettings milters, DkimTable dkim) {

    public static ContentSettings defaults() {
        return new ContentSettings(Params.MESSAGE_SIZE_LIMIT.parse(Params.MESSAGE_SIZE_LIMIT.defaultText(), "default"),
                HeaderChecks.none(), HeaderChecks.none(), MilterSettings.none(), DkimTable.of(List.of()));
    }

    /** Whether a message needs the cleanup step at all (anything to check, milter or sign). */
    public boolean needsCleanup() {
        return !dkim.isEmpty() || !headerChecks.isEmpty() || !milters.isEmpty();
    }
}
