package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The router: a pure function of (sender, recipient, config snapshot) to a {@link Route}, as Postfix
 * applies transport_maps (by recipient), then sender_dependent_relayhost_maps, relayhost, and
 * smtp_sasl_password_maps for the credentials.
 */
public final class Router {

    private static final char RECIPIENT_DELIMITER = '+';

    private Router() {
    }

    public static Route route(RelayConfig config, String sender, String recipient) {
        List<String> senderKeys = senderLookupKeys(sender);
        String recipientDomain = domainOf(recipient);

        Optional<Credentials> senderCredentials = Optional.empty();
        if (config.routing().saslEnabled() && config.routing().senderDependentAuth() && !isNullSender(sender)) {
            for (String key : senderKeys) {
                Credentials c = config.routing().credentials().get(key);
                if (c != null) {
                    senderCredentials = Optional.of(c);
                    break;
                }
            }
        }

        // transport_maps first: by recipient, over the sender map and the relay host (as in Postfix).
        Optional<TransportTable.Entry> transport = config.routing().transports().lookup(recipient)
                .filter(t -> t.kind() != TransportTable.Kind.DEFAULT);
        if (transport.isPresent()) {
            TransportTable.Entry t = transport.get();
            List<NextHop> hops = t.kind() == TransportTable.Kind.SMTP ? withFallback(config, t.hops()) : List.of();
            if (t.kind() == TransportTable.Kind.SMTP && t.hops().isEmpty()) {
                hops = List.of();
            }
            return build(config, Route.Source.TRANSPORT, Optional.of(t.key()), hops, recipientDomain, senderCredentials, false,
                    transport);
        }

        for (String key : senderKeys) {
            Optional<PostfixTable.Entry> hit = config.routing().senderRelayMap().lookup(key);
            if (hit.isEmpty()) {
                continue;
            }
            String value = hit.get().value();
            if (value.isEmpty()) {
                return build(config, Route.Source.OPT_OUT, Optional.of(hit.get().key()), List.of(), recipientDomain,
                        senderCredentials, false);
            }
            if (value.equalsIgnoreCase("DUNNO")) {
                break;
            }
            List<NextHop> hops = NextHop.parseList(value, hit.get().location());
            return build(config, Route.Source.SENDER_MAP, Optional.of(hit.get().key()), withFallback(config, hops),
                    recipientDomain, senderCredentials, false);
        }
        String senderDomain = isNullSender(sender) ? null : domainOf(sender);
        if (senderDomain != null && config.routing().implicitRelayDomains().containsKey(senderDomain)
                && config.routing().senderRelayMap().lookup("@" + senderDomain).isEmpty()) {
            List<NextHop> hops = config.routing().implicitRelayDomains().get(senderDomain);
            return build(config, Route.Source.SENDER_MAP, Optional.of("@" + senderDomain), withFallback(config, hops),
                    recipientDomain, senderCredentials, false);
        }
        if (!config.routing().defaultRelay().isEmpty()) {
            return build(config, Route.Source.DEFAULT_RELAY, Optional.empty(), withFallback(config, config.routing().defaultRelay()),
                    recipientDomain, senderCredentials, true);
        }
        return build(config, Route.Source.DIRECT, Optional.empty(), List.of(), recipientDomain, senderCredentials, false);
    }

    private static List<NextHop> withFallback(RelayConfig config, List<NextHop> hops) {
        if (config.routing().fallbackRelay().isEmpty()) {
            return hops;
        }
        List<NextHop> all = new ArrayList<>(hops);
        all.addAll(config.routing().fallbackRelay());
        return List.copyOf(all);
    }

    private static Route build(RelayConfig config, Route.Source source, Optional<String> mapKey, List<NextHop> hops,
                               String recipientDomain, Optional<Credentials> senderCredentials, boolean defaultRelay) {
        return build(config, source, mapKey, hops, recipientDomain, senderCredentials, defaultRelay, Optional.empty());
    }

    private static Route build(RelayConfig config, Route.Source source, Optional<String> mapKey, List<NextHop> hops,
                               String recipientDomain, Optional<Credentials> senderCredentials, boolean defaultRelay,
                               Optional<TransportTable.Entry> transport) {
        return new Route(source, mapKey, hops, hops.isEmpty() ? Optional.of(recipientDomain) : Optional.empty(),
                senderCredentials, config.routing().tlsLevel(), config.routing().wrapperMode(), config.routing().saslEnabled(), defaultRelay,
                config.routing().credentials(), transport);
    }

    /** Lookup keys in Postfix order: full address, address without extension, {@code @domain}; {@code <>} for the null sender. */
    public static List<String> senderLookupKeys(String sender) {
        if (isNullSender(sender)) {
            return List.of("<>");
        }
        String address = lowerCase(sender);
        List<String> keys = new ArrayList<>(3);
        keys.add(address);
        int at = address.lastIndexOf('@');
        if (at > 0) {
            String local = address.substring(0, at);
            String domain = address.substring(at + 1);
            int plus = local.indexOf(RECIPIENT_DELIMITER);
            if (plus > 0) {
                keys.add(local.substring(0, plus) + "@" + domain);
            }
            keys.add("@" + domain);
        }
        return keys;
    }

    public static boolean isNullSender(String sender) {
        return sender == null || sender.isEmpty() || sender.equals("<>");
    }

    /** The lower-cased domain part of an address (text after the last '@'), or empty. */
    public static String domainOf(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? "" : lowerCase(address.substring(at + 1));
    }

    static String lowerCase(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
