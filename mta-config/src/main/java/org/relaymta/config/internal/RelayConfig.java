package org.relaymta.config.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.QueueSettings;

/**
 * One immutable snapshot of the relay's configuration, in sections by what they govern. A reload
 * builds a new snapshot; deliveries in progress keep the one they started with.
 *
 * @param myhostname this relay's host name (greeting, EHLO, Received:, Message-IDs)
 * @param routing    where outbound mail goes and how it authenticates
 * @param listener   inbound SMTP policy: who may relay, accounts, limits, sender checks
 * @param delivery   the SMTP client's timeouts and TLS settings, relay health, quotas
 * @param queue      the queue manager's retry, expiry and concurrency settings
 * @param content    size limit, header checks, milters, DKIM
 * @param events     delivery events' sinks (webhooks, Kafka), the outbox's bound, the suppression list
 * @param cluster    the Redis that several nodes share quotas and relay health through ({@code MTA_REDIS_URL})
 * @param warnings   problems that did not stop the load (unknown parameters, entries that can never be used, ...)
 * @param sources    files this snapshot was read from (watched for hot reload)
 */
public record RelayConfig(String myhostname, Routing routing, ListenerSettings listener, DeliverySettings delivery,
                          QueueSettings queue, ContentSettings content, EventSettings events, ClusterSettings cluster, List<String> warnings,
                          List<Path> sources) {

    /** {@code message_size_limit}'s default, for the few that read it before there is a snapshot. */
    public static final long DEFAULT_MESSAGE_SIZE_LIMIT = Long.parseLong(Params.MESSAGE_SIZE_LIMIT.defaultText());

    /** This snapshot with {@code more} warnings after its own (findings that need the whole configuration). */
    public RelayConfig withMoreWarnings(List<String> more) {
        List<String> all = new ArrayList<>(warnings);
        all.addAll(more);
        return new RelayConfig(myhostname, routing, listener, delivery, queue, content, events, cluster, List.copyOf(all), sources);
    }

    /** What changed between two snapshots, in counts and public values only: for the reload log line. */
    public String describeChangeFrom(RelayConfig previous) {
        List<String> parts = new ArrayList<>();
        compare(parts, "relay map entries", previous.routing.senderRelayMap().size(), routing.senderRelayMap().size());
        compare(parts, "implicit RELAY_HOST domains", previous.routing.implicitRelayDomains().size(), routing.implicitRelayDomains().size());
        compare(parts, "credentials", previous.routing.credentials().size(), routing.credentials().size());
        if (!previous.routing.defaultRelayText().equals(routing.defaultRelayText())) {
            parts.add("default relay host " + previous.routing.defaultRelayText().orElse("none") + " -> " + routing.defaultRelayText().orElse("none"));
        }
        if (previous.routing.tlsLevel() != routing.tlsLevel()) {
            parts.add("TLS level " + previous.routing.tlsLevel().postfixName() + " -> " + routing.tlsLevel().postfixName());
        }
        if (!previous.listener.mynetworks().toString().equals(listener.mynetworks().toString())) {
            parts.add("mynetworks " + previous.listener.mynetworks() + " -> " + listener.mynetworks());
        }
        compare(parts, "submission accounts", previous.listener.accounts().size(), listener.accounts().size());
        if (previous.content.messageSizeLimit() != content.messageSizeLimit()) {
            parts.add("message_size_limit " + previous.content.messageSizeLimit() + " -> " + content.messageSizeLimit());
        }
        if (!previous.queue.equals(queue) || !previous.delivery.smtp().equals(delivery.smtp())) {
            parts.add("queue/client timing changed");
        }
        if (parts.isEmpty() && previous.routing.senderRelayMap().entries().equals(routing.senderRelayMap().entries())
                && previous.routing.credentials().equals(routing.credentials())
                && previous.routing.transports().entries().equals(routing.transports().entries())
                && previous.listener.accounts().equals(listener.accounts())) {
            return "nothing changed";
        }
        if (parts.isEmpty()) {
            // e.g. a password changed, or a mapping's target with the same count: say so without details.
            parts.add("entries changed, counts unchanged (relay map " + routing.senderRelayMap().size() + ", credentials "
                    + routing.credentials().size() + ")");
        }
        return String.join(", ", parts);
    }

    /** Tables that had entries in {@code previous} and have none now, with the counts. */
    public List<String> tablesEmptiedSince(RelayConfig previous) {
        List<String> lost = new ArrayList<>();
        if (previous.routing.senderRelayMap().size() > 0 && routing.senderRelayMap().size() == 0) {
            lost.add("the relay map lost all its " + previous.routing.senderRelayMap().size() + " entries");
        }
        if (!previous.routing.credentials().isEmpty() && routing.credentials().isEmpty()) {
            lost.add("the credentials lost all their " + previous.routing.credentials().size() + " entries");
        }
        if (!previous.listener.accounts().isEmpty() && listener.accounts().isEmpty()) {
            lost.add("the submission accounts lost all their " + previous.listener.accounts().size() + " entries");
        }
        return lost;
    }

    private static void compare(List<String> parts, String what, int before, int after) {
        if (before != after) {
            parts.add(what + " " + before + " -> " + after);
        }
    }

    /** One line for people: where outbound mail goes, TLS level, whether AUTH is configured. Never a secret. */
    public String outboundSummary() {
        Routing r = routing;
        StringBuilder sb = new StringBuilder();
        sb.append("default relay host ").append(r.defaultRelayText().orElse("none (direct MX delivery)"));
        if (r.senderRelayMap().size() > 0 || !r.implicitRelayDomains().isEmpty()) {
            sb.append(", ").append(r.senderRelayMap().size() + r.implicitRelayDomains().size()).append(" sender-dependent route(s)");
        }
        sb.append(", TLS ").append(r.tlsLevel().postfixName());
        if (r.wrapperMode()) {
            sb.append(" (wrapper mode)");
        }
        sb.append(", AUTH ").append(r.saslEnabled() && !r.credentials().isEmpty()
                ? "configured (" + r.credentials().size() + " credential" + (r.credentials().size() == 1 ? "" : "s") + ")"
                : "not configured");
        return sb.toString();
    }
}
