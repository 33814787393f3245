package org.relaymta.core;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.ConfigException;
import org.relaymta.config.QueueSettings;
import org.relaymta.config.SmtpClientSettings;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.ClusterSettings;
import org.relaymta.config.internal.EventSettings;
import org.relaymta.config.internal.ContentSettings;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.DeliverySettings;
import org.relaymta.config.internal.DkimKey;
import org.relaymta.config.internal.DkimTable;
import org.relaymta.config.internal.HeaderChecks;
import org.relaymta.config.internal.ListenerSettings;
import org.relaymta.config.internal.MilterSettings;
import org.relaymta.config.internal.Networks;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.Param;
import org.relaymta.config.internal.ParamValues;
import org.relaymta.config.internal.Params;
import org.relaymta.config.internal.PemKeys;
import org.relaymta.config.internal.PostfixTable;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.Routing;
import org.relaymta.config.internal.SenderPolicy;

/**
 * Relay settings as Java values, for applications that embed the relay without a config
 * directory. The same rules as the docker-mailserver inputs apply: credentials make TLS level
 * {@code encrypt} unless a level is set, sender-dependent routes use relay-map keys
 * ({@code user@domain}, {@code @domain}, {@code <>}), an empty next hop is an opt-out.
 *
 * <pre>{@code
 * RelaySettings settings = RelaySettings.defaults()
 *         .defaultRelayHost("[email-smtp.eu-west-1.amazonaws.com]:587")
 *         .credentials("AKIA...", secret)
 *         .senderRelay("@billing.example.com", "[smtp.sendgrid.net]:587")
 *         .backoff(Duration.ofMinutes(1), Duration.ofMinutes(30));
 * RelayEngine relay = RelayEngine.builder().spoolDirectory(spool).settings(settings).build().start();
 * }</pre>
 */
public final class RelaySettings {
    private String defaultRelay;
    private String fallbackRelay;
    private String user;
    private String password;
    private final List<String> relayMapLines = new ArrayList<>();
    private final List<DkimKey> dkimKeys = new ArrayList<>();
    private List<MilterSettings.Address> milterList = List.of();
    private String milterDefaultAction = "tempfail";
    private final Map<String, Credentials> credentials = new LinkedHashMap<>();
    private TlsLevel tlsLevel;
    private boolean wrapperMode;
    private String hostname = "localhost";
    private long messageSizeLimit = RelayConfig.DEFAULT_MESSAGE_SIZE_LIMIT;
    private QueueSettings queue = QueueSettings.postfixDefaults();
    private SmtpClientSettings smtp = SmtpClientSettings.postfixDefaults();
    private String mynetworks = Networks.POSTFIX_DEFAULT;
    private final List<EventSettings.Webhook> webhooks = new ArrayList<>();
    private String webhookSecret;
    private boolean suppressHardBounces;

    private RelaySettings() {
    }

    public static RelaySettings defaults() {
        return new RelaySettings();
    }

    /** {@code DEFAULT_RELAY_HOST} / {@code relayhost}: {@code [host]:port}, {@code host}, or a failover list. */
    public RelaySettings defaultRelayHost(String nextHops) {
        NextHop.parseList(nextHops, "defaultRelayHost");
        this.defaultRelay = nextHops;
        return this;
    }

    /** {@code smtp_fallback_relay}. */
    public RelaySettings fallbackRelay(String nextHops) {
        NextHop.parseList(nextHops, "fallbackRelay");
        this.fallbackRelay = nextHops;
        return this;
    }

    /** {@code RELAY_USER} / {@code RELAY_PASSWORD}: credentials for the default relay host. */
    public RelaySettings credentials(String username, String password) {
        this.user = username;
        this.password = password;
        return this;
    }

    /** A relay-map entry: {@code senderKey} is {@code user@domain}, {@code @domain} or {@code <>}; an empty hop opts out. */
    public RelaySettings senderRelay(String senderKey, String nextHops) {
        if (nextHops != null && !nextHops.isBlank()) {
            NextHop.parseList(nextHops, "senderRelay(" + senderKey + ")");
        }
        relayMapLines.add(senderKey + (nextHops == null || nextHops.isBlank() ? "" : " " + nextHops));
        return this;
    }

    /** A credentials-map entry keyed by sender ({@code @domain}, address), server host name or next hop. */
    public RelaySettings credentialsFor(String key, String username, String password) {
        credentials.put(key.toLowerCase(Locale.ROOT), new Credentials(username, password, key));
        return this;
    }

    public RelaySettings tlsLevel(TlsLevel level) {
        this.tlsLevel = level;
        return this;
    }

    /** Implicit TLS (port 465 style). */
    public RelaySettings wrapperMode(boolean on) {
        this.wrapperMode = on;
        return this;
    }

    public RelaySettings hostname(String name) {
        this.hostname = name;
        return this;
    }

    public RelaySettings messageSizeLimit(long bytes) {
        this.messageSizeLimit = bytes;
        return this;
    }

    public RelaySettings queue(QueueSettings settings) {
        this.queue = settings;
        return this;
    }

    /** Shortcut for the retry bounds, e.g. for tests or interactive tools. */
    public RelaySettings backoff(Duration minimal, Duration maximal) {
        this.queue = queue.withBackoff(minimal, maximal);
        return this;
    }

    public RelaySettings smtp(SmtpClientSettings settings) {
        this.smtp = settings;
        return this;
    }

    /**
     * Signs mail whose From: address is in {@code domain} (or a subdomain) with DKIM: the private
     * key in {@code keyFile} (PEM, PKCS#8 or PKCS#1 RSA, or Ed25519), published at
     * {@code <selector>._domainkey.<domain>}. Call it twice (an RSA and an Ed25519 key) for both signatures.
     */
    public RelaySettings dkimKey(String domain, String selector, Path keyFile) {
        dkimKeys.add(new DkimKey(domain.toLowerCase(Locale.ROOT), selector,
                PemKeys.read(keyFile, "dkimKey(" + domain + ", " + selector + ")"), keyFile.toString()));
        return this;
    }

    /**
     * Postfix {@code non_smtpd_milters} for mail the application submits (and {@code smtpd_milters}
     * for a listener started with this configuration): {@code inet:host:port} or {@code unix:/path},
     * comma-separated; {@code defaultAction} (tempfail, accept, reject, quarantine) applies when one
     * cannot be reached.
     */
    public RelaySettings milters(String milters, String defaultAction) {
        List<MilterSettings.Address> list = MilterSettings.parseList(milters, "milters");
        if (!MilterSettings.DEFAULT_ACTIONS.contains(defaultAction)) {
            throw new ConfigException("milters", "'" + defaultAction + "' is not tempfail, accept, reject or quarantine");
        }
        this.milterList = list;
        this.milterDefaultAction = defaultAction;
        return this;
    }

    private MilterSettings milterSettings() {
        MilterSettings d = MilterSettings.none();
        return new MilterSettings(milterList, milterList, milterDefaultAction, 6, d.connectTimeout(), d.commandTimeout(),
                d.contentTimeout(), d.macros());
    }

    /** Clients that may relay through an SMTP listener started with this configuration. */
    public RelaySettings mynetworks(String networks) {
        Networks.parse(networks, "mynetworks");
        this.mynetworks = networks;
        return this;
    }

    /**
     * The configuration snapshot these settings make, by the same rules and defaults as a config
     * directory (the parameter table and the routing rules of the internal package).
     */
    /**
     * POSTs delivery events to {@code url} as signed JSON batches ({@code event_webhooks}): https (verified),
     * or http to a loopback address; {@code events} names the ones it wants (none: all). Every webhook
     * is signed with the same {@code secret} ({@code X-Relay-Signature}, see docs/events.md).
     */
    public RelaySettings eventWebhook(String url, String secret, String... events) {
        if (webhookSecret != null && !webhookSecret.equals(secret)) {
            throw new IllegalArgumentException("every webhook is signed with one secret; this one differs from the first");
        }
        webhooks.add(EventSettings.webhook(url, List.of(events), "eventWebhook"));
        webhookSecret = secret;
        return this;
    }

    /** {@code suppress_hard_bounces}: an invalid recipient is suppressed for 90 days ({@code RelayEngine.suppressions()}). */
    public RelaySettings suppressHardBounces(boolean on) {
        this.suppressHardBounces = on;
        return this;
    }

    RelayConfig build() {
        List<String> warnings = new ArrayList<>();
        List<NextHop> relay = defaultRelay == null ? List.of() : NextHop.parseList(defaultRelay, "defaultRelayHost");
        List<NextHop> fallback = fallbackRelay == null ? List.of() : NextHop.parseList(fallbackRelay, "fallbackRelay");
        Optional<Credentials> relayCredentials = user != null && password != null && defaultRelay != null
                ? Optional.of(new Credentials(user, password, defaultRelay)) : Optional.empty();
        Routing routing = Routing.derive(new Routing.Input(relay, Optional.ofNullable(defaultRelay), fallback,
                PostfixTable.parse("sender relay map", relayMapLines), Map.of(), credentials, relayCredentials,
                !credentials.isEmpty(), !credentials.isEmpty(), Optional.empty(), Optional.empty(), Optional.ofNullable(tlsLevel),
                wrapperMode, Map.of()), warnings);
        Map<Param<?>, Object> given = new HashMap<>();
        given.put(Params.MYNETWORKS, mynetworks);
        ListenerSettings listener = ListenerSettings.of(ParamValues.given(given), Map.of(), Optional.empty(), Optional.empty(),
                SenderPolicy.defaults());
        DeliverySettings delivery = new DeliverySettings(smtp, DeliverySettings.defaults().relayFailureThreshold(), RelayLimits.none());
        ContentSettings content = new ContentSettings(messageSizeLimit, HeaderChecks.none(), HeaderChecks.none(), milterSettings(),
                DkimTable.of(dkimKeys));
        EventSettings events = EventSettings.given(webhooks, Optional.ofNullable(webhookSecret), suppressHardBounces);
        return new RelayConfig(hostname, routing, listener, delivery, queue, content, events, ClusterSettings.none(),
                List.copyOf(warnings), List.of());
    }
}
