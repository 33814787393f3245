package org.relaymta.config.internal;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the relay knows about each provider, in one place: its smarthost, the quota preset of
 * {@code relay-limits.cf} with its documented limits, and for the OAuth2 providers their
 * endpoints, scopes and token lifetimes. Quota presets, OAuth2 profile defaults and the token
 * cache's warnings read it; the README's provider examples say the same.
 */
public final class Providers {
    /** A provider's OAuth2 side. {@code {tenant}} in a URL is the profile's tenant. */
    public record OAuth2(String tokenUrl, String authorizeUrl, String appScope, String userScope, Duration accessTokenLifetime,
                         Optional<Duration> refreshTokenLifetime) {
    }

    /**
     * @param name        the preset's name in {@code relay-limits.cf}
     * @param smarthost   the submission next hop as a user writes it ({@code {region}} for the account's region)
     * @param quotaPreset what {@code preset=NAME} expands to
     * @param oauth2      OAuth2 endpoints, for providers that take tokens
     */
    public record Provider(String name, String smarthost, String quotaPreset, Optional<OAuth2> oauth2) {
    }

    private static final OAuth2 MICROSOFT_OAUTH2 = new OAuth2(
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            // client credentials (SMTP.SendAsApp), and delegated for a mailbox's own sign-in
            "https://outlook.office365.com/.default", "https://outlook.office.com/SMTP.Send offline_access",
            Duration.ofMinutes(60), Optional.of(Duration.ofDays(90)));
    private static final OAuth2 GOOGLE_OAUTH2 = new OAuth2("https://oauth2.googleapis.com/token",
            "https://accounts.google.com/o/oauth2/v2/auth", "https://mail.google.com/", "https://mail.google.com/",
            Duration.ofSeconds(3599), Optional.empty());

    /** Amazon SES: per-account, per-region rate (14/s is the default production rate; sandbox 1/s). */
    public static final Provider SES = new Provider("ses", "[email-smtp.{region}.amazonaws.com]:587", "messages=14/s",
            Optional.empty());
    /** Microsoft 365: 30 messages a minute and 10,000 recipients a day per mailbox, 500 recipients a message. */
    public static final Provider M365 = new Provider("m365", "[smtp.office365.com]:587",
            "messages=30/m, recipients=10000/d, recipients_per_message=500", Optional.of(MICROSOFT_OAUTH2));
    /** Consumer Gmail: 500 a day, 100 recipients a message over SMTP. */
    public static final Provider GMAIL = new Provider("gmail", "[smtp.gmail.com]:587",
            "messages=500/d, recipients=500/d, recipients_per_message=100", Optional.of(GOOGLE_OAUTH2));
    /** Google Workspace: 2,000 a day (500 on trial), 100 recipients a message over SMTP. */
    public static final Provider WORKSPACE = new Provider("workspace", "[smtp-relay.gmail.com]:587",
            "messages=2000/d, recipients=10000/d, recipients_per_message=100", Optional.of(GOOGLE_OAUTH2));
    /** SendGrid: 1,000 recipients a message (5,000 messages a connection). */
    public static final Provider SENDGRID = new Provider("sendgrid", "[smtp.sendgrid.net]:587", "recipients_per_message=1000",
            Optional.empty());
    /** Mailgun: limits are the account's; 1,000 recipients a message. */
    public static final Provider MAILGUN = new Provider("mailgun", "[smtp.mailgun.org]:587", "recipients_per_message=1000",
            Optional.empty());

    public static final List<Provider> ALL = List.of(SES, M365, GMAIL, WORKSPACE, SENDGRID, MAILGUN);

    private Providers() {
    }

    public static Optional<Provider> byName(String name) {
        return ALL.stream().filter(p -> p.name().equalsIgnoreCase(name)).findFirst();
    }

    /** The OAuth2 side of a profile's provider (Microsoft is m365's, Google gmail's and Workspace's). */
    public static Optional<OAuth2> oauth2(OAuth2Profile.Provider provider) {
        return switch (provider) {
            case MICROSOFT -> M365.oauth2();
            case GOOGLE, GOOGLE_SERVICE_ACCOUNT -> GMAIL.oauth2();
            case GENERIC -> Optional.empty();
        };
    }
}
