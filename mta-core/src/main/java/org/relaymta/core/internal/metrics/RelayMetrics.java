package org.relaymta.core.internal.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.DeliveryListener;
import org.relaymta.core.internal.cluster.Cluster;
import org.relaymta.core.internal.delivery.RelayHealth;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.outbox.EventFeed;
import org.relaymta.core.internal.outbox.Outbox;
import org.relaymta.core.internal.outbox.SinkRunner;
import org.relaymta.core.internal.queue.QueueManager;
import org.relaymta.core.internal.shaping.Shaper;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.internal.tls.TlsSessionResult;
import org.relaymta.core.queue.QueueState;

/**
 * The relay's meters (Micrometer): what operators graph and alert on. Names follow Prometheus
 * conventions once exported ({@code mta_deliveries_total{status="sent",relay="..."}}, ...).
 * Tags are bounded: relay host names and outcome names, never addresses or secrets.
 */
public final class RelayMetrics implements DeliveryListener {
    private final MeterRegistry registry;
    private final Counter received;
    private final Counter sessionsIn;
    private final Counter tlsIn;
    private final Counter authFailures;
    private final Timer fsync;
    private final Timer acceptToDelivery;
    private final Timer dataReply;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.received = Counter.builder("mta.messages.received").description("Messages accepted and spooled")
                .register(registry);
        this.sessionsIn = Counter.builder("mta.smtp.sessions").tag("direction", "in").register(registry);
        this.tlsIn = Counter.builder("mta.smtp.tls.sessions").tag("direction", "in").register(registry);
        this.authFailures = Counter.builder("mta.smtp.auth.failures").description("Failed inbound AUTH attempts")
                .register(registry);
        this.fsync = Timer.builder("mta.spool.fsync").description("Time to make a received message durable")
                .publishPercentiles(0.5, 0.99).register(registry);
        // What a sending client waits for after its final dot; buckets too, so a run's p99 is a difference of counts.
        this.dataReply = Timer.builder("mta.smtp.data.reply")
                .description("From the end of DATA to the reply (spool commit included)").publishPercentiles(0.5, 0.99)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
        this.acceptToDelivery = Timer.builder("mta.delivery.latency")
                .description("From acceptance to the upstream's 250").publishPercentiles(0.5, 0.9, 0.99).register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** Queue gauges: messages per queue and the age of the oldest one (from the index, no spool reads). */
    public void bindQueue(QueueManager queue, Clock clock) {
        for (QueueState state : QueueState.values()) {
            Gauge.builder("mta.queue.messages", queue, q -> q.countByState().get(state))
                    .tag("queue", state.postfixName()).description("Messages in the queue").register(registry);
        }
        Gauge.builder("mta.queue.oldest.age", queue, q -> {
            long oldest = q.oldestArrivalMillis();
            return oldest < 0 ? 0 : Math.max(0, clock.millis() - oldest) / 1000.0;
        }).baseUnit("seconds").description("Age of the oldest queued message").register(registry);
    }

    @Override
    public void onDelivery(DeliveryEvent event) {
        String relay = event.direct() ? "direct" : relayHost(event.relay());
        if (event.status() == DeliveryEvent.Status.RECEIVED || event.status() == DeliveryEvent.Status.RELEASED
                || event.status() == DeliveryEvent.Status.SHAPING) {
            return;   // not an outcome (shaping has mta_shaping_active)
        }
        // A quota's hold is a deferral to dashboards (its own count is mta_quota_delayed); class is empty when sent.
        String status = event.status() == DeliveryEvent.Status.QUOTA_DELAYED ? "deferred" : event.status().postfixName();
        Counter.builder("mta.deliveries").tag("status", status).tag("relay", relay).tag("class", event.bounceClass())
                .description("Delivery outcomes per recipient").register(registry).increment();
        if (event.status() == DeliveryEvent.Status.SENT) {
            acceptToDelivery.record(event.delay());
        }
        if (event.status() == DeliveryEvent.Status.QUOTA_DELAYED && event.reason().startsWith("relay quota ")) {
            // Published once per message and quota (the queue does not repeat a quota deferral).
            String key = event.reason().substring("relay quota ".length());
            java.util.regex.Matcher setting = QUOTA_SETTING.matcher(key);
            key = setting.find() ? key.substring(0, setting.start()) : key;
            Counter.builder("mta.quota.delayed").description("Messages held back by a relay quota").tag("key", key)
                    .register(registry).increment();
        }
    }

    /** Where a quota's key ends in a hold's reason: at its setting ({@code messages=5/s}, {@code warmup=50;100 (...)}). */
    private static final java.util.regex.Pattern QUOTA_SETTING = java.util.regex.Pattern.compile(
            " (?:messages|recipients|concurrency|warmup)=");

    public void messageReceived() {
        received.increment();
    }

    public void inboundSession(boolean tls) {
        sessionsIn.increment();
        if (tls) {
            tlsIn.increment();
        }
    }

    public void inboundTls() {
        tlsIn.increment();
    }

    public void authFailure() {
        authFailures.increment();
    }

    /**
     * {@code mta_relay_hop_state{hop}}: 0 closed, 1 half-open, 2 open, for every relay next hop seen;
     * hops are registered as they appear.
     */
    /**
     * {@code mta_shaping_active{destination,rule}}: a throttle's step (1 for a suspension) while a
     * shaping rule acts on a destination, 0 after; one series per pair that has acted.
     */
    public void bindShaping(Shaper shaper) {
        java.util.Set<String> bound = java.util.concurrent.ConcurrentHashMap.newKeySet();
        shaper.onChange(c -> {
            if (bound.add(c.action().destination() + "\n" + c.action().rule())) {
                registerShaping(shaper, c);
            }
        });
    }

    private void registerShaping(Shaper shaper, Shaper.Change c) {
        Gauge.builder("mta.shaping.active", shaper, s -> s.level(c.action().destination(), c.action().rule()))
                .description("Shaping action in force: the throttle's step, 1 for a suspension, 0 when none")
                .tag("destination", c.action().destination()).tag("rule", c.action().rule()).register(registry);
    }

    public void bindRelayHealth(RelayHealth health) {
        health.onNewHop(hop -> Gauge.builder("mta.relay.hop.state", health, h -> h.state(hop).ordinal())
                .description("Relay next hop circuit breaker: 0 closed, 1 half-open, 2 open").tag("hop", hop).register(registry));
    }

    /**
     * {@code mta_cluster_shared}: 1 while quotas and relay health are shared through Redis, 0 while
     * this node counts its share locally; only when {@code MTA_REDIS_URL} is set.
     */
    public void bindCluster(Cluster cluster) {
        if (cluster.status().isPresent()) {
            Gauge.builder("mta.cluster.shared", cluster, c -> c.status().map(s -> s.shared() ? 1 : 0).orElse(0))
                    .description("1 while quotas and relay health are shared through Redis, 0 while counted on this node")
                    .register(registry);
        }
    }

    /**
     * The event outbox and its sinks: {@code mta_event_outbox_bytes}, {@code mta_event_outbox_dropped_total}
     * (events over {@code event_queue_limit}), and per sink {@code mta_event_sink_lag} (events not yet
     * taken), {@code mta_event_sink_events_total{outcome=delivered|dropped|lost}} and {@code
     * mta_event_sink_failures_total} (failed tries).
     */
    public void bindEvents(Outbox outbox, EventFeed feed) {
        Gauge.builder("mta.event.outbox.bytes", outbox, Outbox::sizeOnDisk).baseUnit("bytes")
                .description("Delivery events kept on disk for consumers").register(registry);
        FunctionCounter.builder("mta.event.outbox.dropped", outbox, Outbox::droppedOverLimit)
                .description("Events dropped unread because the outbox passed event_queue_limit").register(registry);
        for (SinkRunner sink : feed.sinks()) {
            String name = sink.sink().label();
            Gauge.builder("mta.event.sink.lag", feed, f -> f.lag(sink)).tag("sink", name)
                    .description("Events the sink has not taken yet").register(registry);
            FunctionCounter.builder("mta.event.sink.events", sink, s -> s.status().delivered()).tag("sink", name)
                    .tag("outcome", "delivered").register(registry);
            FunctionCounter.builder("mta.event.sink.events", sink, s -> s.status().dropped()).tag("sink", name)
                    .tag("outcome", "dropped").register(registry);
            FunctionCounter.builder("mta.event.sink.events", sink, s -> s.status().lost()).tag("sink", name)
                    .tag("outcome", "lost").register(registry);
            FunctionCounter.builder("mta.event.sink.failures", sink, s -> s.status().failures()).tag("sink", name)
                    .description("Failed tries to hand events to the sink").register(registry);
        }
    }

    /** A DKIM signature made when a message was accepted: {@code mta_dkim_signed_total{domain,algorithm}}. */
    public void dkimSigned(String domain, String algorithm) {
        Counter.builder("mta.dkim.signed").description("DKIM signatures made when mail was accepted")
                .tag("domain", domain).tag("algorithm", algorithm).register(registry).increment();
    }

    /**
     * An outbound session, counted by {@code result} ({@code ok}, {@code connect_failed}, {@code
     * refused}, {@code tls_failed}, {@code auth_failed}, {@code timeout}, {@code failed}); {@code tls}
     * is "PROTOCOL CIPHER OUTCOME" or empty for plaintext.
     */
    /**
     * A session to a recipient domain's MX under a TLS policy: {@code mta_tls_policy_total{policy,result}},
     * policy {@code sts}, {@code tlsa} or {@code no-policy-found}, result {@code success} or the RFC 8460 failure type.
     */
    /** {@code mta_config_warnings}: what {@code mta config check} would find in the configuration in force. */
    public void bindConfig(Supplier<RelayConfig> config) {
        Gauge.builder("mta.config.warnings", () -> config.get().warnings().size())
                .description("Configuration entries that can never be used or do not do what they seem to (mta config check)")
                .register(registry);
    }

    public void tlsPolicy(TlsSessionResult r) {
        Counter.builder("mta.tls.policy").description("Sessions to recipients' MX by TLS policy and result")
                .tag("policy", r.policy().type()).tag("result", r.result()).register(registry).increment();
    }

    public void outboundSession(String result, String tls) {
        Counter.builder("mta.smtp.sessions").tag("direction", "out").tag("result", result)
                .register(registry).increment();
        if (!tls.isEmpty()) {
            String[] parts = tls.split(" ");
            Counter.builder("mta.smtp.tls.sessions").tag("direction", "out").tag("protocol", parts[0])
                    .tag("cipher", parts.length > 1 ? parts[1] : "unknown").register(registry).increment();
        }
    }

    /**
     * OAuth2 token meters: {@code mta_oauth2_token_requests_total{profile,result}} and, per profile
     * of the current configuration, {@code mta_oauth2_token_expiry_seconds{profile}} (until the
     * cached token expires).
     */
    public void bindOAuth2(OAuth2Tokens tokens, Collection<String> profiles) {
        tokens.onRequest((profile, result) -> {
            Counter.builder("mta.oauth2.token.requests").tag("profile", profile).tag("result", result)
                    .description("Token endpoint requests").register(registry).increment();
            // A profile added by a reload gets its gauge with its first token (registering is idempotent).
            expiryGauge(tokens, profile);
        });
        for (String profile : profiles) {
            expiryGauge(tokens, profile);
        }
    }

    private void expiryGauge(OAuth2Tokens tokens, String profile) {
        Gauge.builder("mta.oauth2.token.expiry", tokens, t -> t.secondsToExpiry(profile)).tag("profile", profile)
                .baseUnit("seconds").description("Until the cached access token expires").register(registry);
    }

    /** The time from a client's end of DATA to the relay's reply. */
    public void dataReply(Duration d) {
        dataReply.record(d);
    }

    public void fsync(Duration d) {
        fsync.record(d);
    }

    /**
     * {@code host[ip]:port} -> {@code host}, for mail through a relay host: the tag's values are the
     * relay hosts configured (or their MX hosts). Direct delivery is one value, {@code direct}, so
     * recipients' domains (anyone's sign-up form) cannot grow the series.
     */
    static String relayHost(String relay) {
        if (relay == null || relay.isEmpty() || relay.equals("none")) {
            return "none";
        }
        int bracket = relay.indexOf('[');
        return LogText.controls((bracket > 0 ? relay.substring(0, bracket) : relay).toLowerCase(Locale.ROOT));
    }
}
