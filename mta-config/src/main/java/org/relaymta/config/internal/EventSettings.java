package org.relaymta.config.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.relaymta.config.ConfigException;

/**
 * Where delivery events go besides the in-process listeners (webhooks, Kafka), how much of them
 * the outbox keeps on disk, and the suppression of recipients that bounced hard. The sinks are read
 * at start (each one's position in the outbox is kept by name); the suppression settings apply at
 * once on a reload. Secrets (the webhook key, the Kafka password) never appear in {@link #toString()}.
 */
public record EventSettings(List<Webhook> webhooks, Optional<Secret> webhookSecret, int webhookBatchLimit,
                            Duration webhookTimeout, Optional<Kafka> kafka, long queueLimit, Duration retryMaximum,
                            boolean suppressHardBounces, Set<String> suppressionClasses, Duration suppressionLifetime) {

    /** The event names of the published schema, in the order of its documentation. */
    public static final List<String> EVENT_NAMES = List.of("received", "delivered", "deferred", "bounced", "expired", "held",
            "released", "deleted", "suppressed", "quota_delayed");

    /** A webhook: where to POST, and which events it wants (empty: all). */
    public record Webhook(URI url, Set<String> events) {
        /** Scheme, host, port and path: the query string may carry a token and is never shown. */
        public String safeText() {
            return url.getScheme() + "://" + url.getRawAuthority().replaceFirst("^.*@", "") + Optional.ofNullable(url.getRawPath())
                    .filter(p -> !p.isEmpty()).orElse("/") + (url.getRawQuery() == null ? "" : "?...");
        }

        public boolean wants(String event) {
            return events.isEmpty() || events.contains(event);
        }

        @Override
        public String toString() {
            return safeText() + (events.isEmpty() ? "" : " events=" + String.join(",", events));
        }
    }

    /** A secret read from a file: its text is only handed out on request, never printed. */
    public record Secret(Path file, String value) {
        @Override
        public String toString() {
            return "(secret from " + file + ")";
        }
    }

    /** A Kafka cluster to publish to. */
    public record Kafka(String bootstrap, String topic, String securityProtocol, String saslMechanism,
                        Optional<String> username, Optional<Secret> password, Optional<Path> caFile) {
        @Override
        public String toString() {
            return bootstrap + " topic " + topic + " (" + securityProtocol + ")";
        }
    }

    public static EventSettings none() {
        return new EventSettings(List.of(), Optional.empty(), 100, Duration.ofSeconds(10), Optional.empty(), 1L << 30,
                Duration.ofMinutes(5), false, Set.of("invalid-recipient"), Duration.ofDays(90));
    }

    /**
     * Settings given in code ({@code RelaySettings}): these webhooks, all signed with {@code secret},
     * and the suppression of hard bounces; the rest as the defaults.
     */
    public static EventSettings given(List<Webhook> webhooks, Optional<String> secret, boolean suppressHardBounces) {
        EventSettings d = none();
        if (!webhooks.isEmpty() && secret.filter(k -> !k.isBlank()).isEmpty()) {
            throw new ConfigException("eventWebhook", "a webhook needs a secret: every POST is signed");
        }
        return new EventSettings(List.copyOf(webhooks), secret.map(k -> new Secret(Path.of("RelaySettings"), k)),
                d.webhookBatchLimit(), d.webhookTimeout(), Optional.empty(), d.queueLimit(), d.retryMaximum(), suppressHardBounces,
                d.suppressionClasses(), d.suppressionLifetime());
    }

    /** One webhook as {@code event_webhooks} would take it ({@code events} empty: every event). */
    public static Webhook webhook(String url, List<String> events, String where) {
        return parseWebhooks(url + (events.isEmpty() ? "" : " events=" + String.join(",", events)), where).get(0);
    }

    static EventSettings from(ParamValues v, Path configDir) {
        List<Webhook> hooks = v.explicit(Params.EVENT_WEBHOOKS).map(t -> parseWebhooks(t, v.where(Params.EVENT_WEBHOOKS)))
                .orElse(List.of());
        Optional<Secret> secret = v.explicit(Params.EVENT_WEBHOOK_SECRET_FILE)
                .map(f -> readSecret(configDir, f, v.where(Params.EVENT_WEBHOOK_SECRET_FILE), "event_webhook_secret_file"));
        if (!hooks.isEmpty() && secret.isEmpty()) {
            throw v.error(Params.EVENT_WEBHOOKS, "event_webhooks is set but event_webhook_secret_file is not: every POST is "
                    + "signed, so the receiver can tell it came from this relay");
        }
        Optional<Kafka> kafka = v.explicit(Params.EVENT_KAFKA_BOOTSTRAP).map(b -> {
            String protocol = v.get(Params.EVENT_KAFKA_SECURITY_PROTOCOL).toUpperCase(Locale.ROOT);
            Optional<String> user = v.explicit(Params.EVENT_KAFKA_USERNAME);
            Optional<Secret> password = v.explicit(Params.EVENT_KAFKA_PASSWORD_FILE).map(f -> readSecret(configDir, f,
                    v.where(Params.EVENT_KAFKA_PASSWORD_FILE), "event_kafka_password_file"));
            if (protocol.startsWith("SASL") && (user.isEmpty() || password.isEmpty())) {
                throw v.error(Params.EVENT_KAFKA_SECURITY_PROTOCOL, "event_kafka_security_protocol " + protocol
                        + " needs event_kafka_username and event_kafka_password_file");
            }
            for (String server : b.split(",")) {
                if (!server.strip().matches("[A-Za-z0-9.\\-\\[\\]:]+:\\d{1,5}")) {
                    throw v.error(Params.EVENT_KAFKA_BOOTSTRAP, "event_kafka_bootstrap must be host:port[,host:port...], not '"
                            + server.strip() + "'");
                }
            }
            return new Kafka(b.strip(), v.get(Params.EVENT_KAFKA_TOPIC), protocol,
                    v.get(Params.EVENT_KAFKA_SASL_MECHANISM).toUpperCase(Locale.ROOT), user, password,
                    v.explicit(Params.EVENT_KAFKA_CAFILE).map(f -> configDir.resolve(f)));
        });
        Set<String> classes = new LinkedHashSet<>();
        for (String c : v.get(Params.SUPPRESSION_CLASSES).split("[,\\s]+")) {
            if (!c.isBlank()) {
                classes.add(c.strip().toLowerCase(Locale.ROOT));
            }
        }
        return new EventSettings(List.copyOf(hooks), secret, v.get(Params.EVENT_WEBHOOK_BATCH_LIMIT),
                v.get(Params.EVENT_WEBHOOK_TIMEOUT), kafka, v.get(Params.EVENT_QUEUE_LIMIT), v.get(Params.EVENT_RETRY_MAXIMUM),
                v.get(Params.SUPPRESS_HARD_BOUNCES), Set.copyOf(classes), v.get(Params.SUPPRESSION_LIFETIME));
    }

    /** {@code URL [events=a,b] URL ...}: an {@code events=} option belongs to the URL before it. */
    static List<Webhook> parseWebhooks(String text, String where) {
        List<URI> urls = new ArrayList<>();
        List<Set<String>> filters = new ArrayList<>();
        for (String word : text.strip().split("\\s+")) {
            if (word.isBlank()) {
                continue;
            }
            if (word.startsWith("events=")) {
                if (urls.isEmpty()) {
                    throw new ConfigException(where, "event_webhooks: '" + word + "' comes before any URL");
                }
                Set<String> names = new LinkedHashSet<>();
                for (String n : word.substring(7).split(",")) {
                    String name = n.strip().toLowerCase(Locale.ROOT);
                    if (!EVENT_NAMES.contains(name)) {
                        throw new ConfigException(where, "event_webhooks: unknown event '" + n + "' (known: "
                                + String.join(", ", EVENT_NAMES) + ")");
                    }
                    names.add(name);
                }
                filters.set(filters.size() - 1, Set.copyOf(names));
                continue;
            }
            urls.add(parseUrl(word, where));
            filters.add(Set.of());
        }
        List<Webhook> out = new ArrayList<>();
        for (int i = 0; i < urls.size(); i++) {
            Webhook w = new Webhook(urls.get(i), filters.get(i));
            if (out.stream().anyMatch(o -> o.url().equals(w.url()))) {
                throw new ConfigException(where, "event_webhooks: " + w.safeText() + " is listed twice");
            }
            out.add(w);
        }
        return out;
    }

    private static URI parseUrl(String word, String where) {
        URI u;
        try {
            u = new URI(word);
        } catch (URISyntaxException e) {
            throw new ConfigException(where, "event_webhooks: not a URL (" + e.getReason() + ")");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (u.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
            throw new ConfigException(where, "event_webhooks: '" + (u.getHost() == null ? "(no host)" : scheme + "://" + u.getHost())
                    + "' is not an https:// URL");
        }
        if (u.getRawUserInfo() != null) {
            throw new ConfigException(where, "event_webhooks: user information in the URL of " + u.getHost()
                    + " is not supported (the signature authenticates the relay)");
        }
        if (u.getRawFragment() != null) {
            throw new ConfigException(where, "event_webhooks: a URL fragment (#...) means nothing to a server");
        }
        if (scheme.equals("http") && !loopback(u.getHost())) {
            throw new ConfigException(where, "event_webhooks: http://" + u.getHost() + " would send events in the clear: "
                    + "use https:// (http:// is for loopback receivers only)");
        }
        return u;
    }

    private static boolean loopback(String host) {
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!h.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            return false;   // a name: never looked up here
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    private static Secret readSecret(Path configDir, String name, String where, String param) {
        Path file = configDir.resolve(name);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(where, param + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
        }
        String first = text.lines().findFirst().orElse("").strip();
        if (first.isEmpty()) {
            throw new ConfigException(where, param + ": " + file + " is empty");
        }
        return new Secret(file, first);
    }
}
