package org.relaymta.core.internal.queue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayLimits;
import org.relaymta.config.internal.Route;
import org.relaymta.config.internal.Router;
import org.relaymta.core.internal.cleanup.SmtpHeaderChecks;
import org.relaymta.core.internal.delivery.DeliveryRequest;
import org.relaymta.core.internal.delivery.SendGate;
import org.relaymta.core.internal.spool.SpooledMessage;
import org.relaymta.core.queue.Recipient;

/**
 * One SMTP transaction of a delivery attempt: the pending recipients of a message that share a
 * route, at most {@code default_destination_recipient_limit} of them.
 *
 * @param destination the route's grouping key (what destination limits and suspensions apply to)
 * @param route       where and how to deliver
 * @param recipients  the recipients of this transaction
 */
record Transaction(String destination, Route route, List<String> recipients) {

    /** The transactions of an attempt: pending recipients routed with {@code cfg}, grouped, split at the limit. */
    static List<Transaction> plan(SpooledMessage message, RelayConfig cfg) {
        return plan(message, cfg, Set.of());
    }

    /** As {@link #plan(SpooledMessage, RelayConfig)}, without the recipients in {@code skip}. */
    static List<Transaction> plan(SpooledMessage message, RelayConfig cfg, Set<String> skip) {
        Map<String, Route> routes = new LinkedHashMap<>();
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (Recipient r : message.pendingRecipients()) {
            if (skip.contains(r.address())) {
                continue;
            }
            Route route = Router.route(cfg, message.envelope().sender(), r.address());
            routes.putIfAbsent(route.groupingKey(), route);
            groups.computeIfAbsent(route.groupingKey(), k -> new ArrayList<>()).add(r.address());
        }
        int destinationLimit = Math.max(1, cfg.queue().destinationRecipientLimit());
        List<Transaction> plan = new ArrayList<>();
        groups.forEach((destination, rcpts) -> {
            int limit = destinationLimit;
            // relay-limits.cf recipients_per_message (the strictest that applies) splits further.
            for (RelayLimits.Limit l : limits(cfg, routes.get(destination))) {
                if (l.recipientsPerMessage() != null) {
                    limit = Math.min(limit, l.recipientsPerMessage());
                }
            }
            for (int i = 0; i < rcpts.size(); i += limit) {
                plan.add(new Transaction(destination, routes.get(destination),
                        List.copyOf(rcpts.subList(i, Math.min(rcpts.size(), i + limit)))));
            }
        });
        return plan;
    }

    /** What the delivery agent needs to run this transaction of {@code message}. */
    DeliveryRequest request(SpooledMessage message, RelayConfig cfg, DeliveryRequest.Content content, SendGate gate) {
        return new DeliveryRequest(message.id(), message.envelope().sender(), recipients, message.contentLength(),
                message.eightBit(), SmtpHeaderChecks.wrap(content, cfg.content().smtpHeaderChecks(),
                        message.id()), route, cfg, message.envelope().requireTls(), gate);
    }

    /** The relay-limits.cf entries for mail on {@code route}: its next hops as written, its SASL account, and {@code *}. */
    static List<RelayLimits.Limit> limits(RelayConfig cfg, Route route) {
        if (cfg.delivery().limits().isEmpty() || route.direct()) {
            return List.of();
        }
        List<String> hops = new ArrayList<>();
        route.nextHops().forEach(h -> hops.add(h.asWritten()));
        String account = route.nextHops().isEmpty() ? null : route.credentialsFor(route.nextHops().get(0).host(),
                route.nextHops().get(0)).map(Credentials::username).orElse(null);
        return cfg.delivery().limits().applicable(hops, account);
    }
}
