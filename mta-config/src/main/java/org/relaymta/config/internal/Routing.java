package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.ConfigException;
import org.relaymta.config.TlsLevel;

/**
 * Where outbound mail goes and how it authenticates: the routing section of a configuration
 * snapshot, read by the pure {@link Router}.
 *
 * @param defaultRelay          the default relay host's next hops ({@code DEFAULT_RELAY_HOST} / {@code relayhost}); empty: direct delivery
 * @param defaultRelayText      the default relay host as written, or empty
 * @param fallbackRelay         {@code smtp_fallback_relay} next hops, tried after the others
 * @param senderRelayMap        {@code postfix-relaymap.cf} (sender-dependent relay hosts)
 * @param implicitRelayDomains  local sender domain to next hops, from {@code RELAY_HOST}
 * @param credentials           SASL credentials by lower-cased key
 * @param senderDependentAuth   look credentials up by sender first
 * @param saslEnabled           AUTH to relay hosts when credentials are found
 * @param tlsLevel              {@code smtp_tls_security_level}
 * @param wrapperMode           {@code smtp_tls_wrappermode}: implicit TLS (port 465 style)
 * @param oauth2Profiles        OAuth2 clients from {@code oauth2-clients.cf}, by profile name
 * @param transports            {@code transport_maps} ({@code postfix-transport.cf}): routes by recipient, first
 */
public record Routing(List<NextHop> defaultRelay, Optional<String> defaultRelayText, List<NextHop> fallbackRelay,
                      PostfixTable senderRelayMap, Map<String, List<NextHop>> implicitRelayDomains,
                      Map<String, Credentials> credentials, boolean senderDependentAuth, boolean saslEnabled, TlsLevel tlsLevel,
                      boolean wrapperMode, Map<String, OAuth2Profile> oauth2Profiles, TransportTable transports) {

    /** The same with {@code transport_maps}. */
    public Routing withTransports(TransportTable t) {
        return new Routing(defaultRelay, defaultRelayText, fallbackRelay, senderRelayMap, implicitRelayDomains, credentials,
                senderDependentAuth, saslEnabled, tlsLevel, wrapperMode, oauth2Profiles, t);
    }

    /** What the rules below start from; every field as given, nothing derived yet. */
    public record Input(List<NextHop> defaultRelay, Optional<String> defaultRelayText, List<NextHop> fallbackRelay,
                        PostfixTable senderRelayMap, Map<String, List<NextHop>> implicitRelayDomains,
                        Map<String, Credentials> credentialTable, Optional<Credentials> relayCredentials,
                        boolean credentialsConfigured, boolean senderCredentialsConfigured, Optional<Boolean> saslEnabled,
                        Optional<Boolean> senderDependentAuth, Optional<TlsLevel> tlsLevel, boolean wrapperMode,
                        Map<String, OAuth2Profile> oauth2Profiles) {
    }

    public static Routing none() {
        return derive(new Input(List.of(), Optional.empty(), List.of(), PostfixTable.empty("sender relay map"), Map.of(), Map.of(),
                Optional.empty(), false, false, Optional.empty(), Optional.empty(), Optional.empty(), false, Map.of()),
                new ArrayList<>());
    }

    /**
     * The derived rules, in one place for the config directory and {@code RelaySettings}
     * alike:
     * <ul>
     * <li>{@code RELAY_USER}/{@code RELAY_PASSWORD} are the credentials of the default relay host as
     *     written, and of each of its next hops (Postfix looks them up per hop), unless the table has them;</li>
     * <li>AUTH is on and the TLS level {@code encrypt} when credentials are configured, unless set;</li>
     * <li>credentials by sender are looked up first when sender-keyed credentials exist, unless set;</li>
     * <li>implicit TLS needs a mandatory level: a lower one is raised to {@code encrypt}, with a warning;</li>
     * <li>a password {@code {oauth2}PROFILE} must name a profile of {@code oauth2-clients.cf}.</li>
     * </ul>
     */
    public static Routing derive(Input in, List<String> warnings) {
        Map<String, Credentials> credentials = new LinkedHashMap<>(in.credentialTable());
        in.relayCredentials().ifPresent(c -> {
            credentials.putIfAbsent(c.key().toLowerCase(Locale.ROOT), c);
            for (NextHop hop : NextHop.parseList(c.key(), c.key())) {
                credentials.putIfAbsent(hop.asWritten().toLowerCase(Locale.ROOT),
                        new Credentials(c.username(), c.password(), hop.asWritten()));
            }
        });
        boolean configured = in.credentialsConfigured() || in.relayCredentials().isPresent();
        TlsLevel level = in.tlsLevel().orElse(configured ? TlsLevel.ENCRYPT : TlsLevel.MAY);
        if (in.wrapperMode() && !level.mandatory()) {
            // Implicit TLS cannot fall back to plaintext: raise the level rather than pretend.
            warnings.add("smtp_tls_wrappermode = yes requires TLS level encrypt or higher; using encrypt");
            level = TlsLevel.ENCRYPT;
        }
        for (Credentials c : credentials.values()) {
            c.oauth2Profile().filter(p -> !in.oauth2Profiles().containsKey(p)).ifPresent(p -> {
                throw new ConfigException("credentials for " + c.key(), "password {oauth2}" + p
                        + " names an OAuth2 profile that " + OAuth2Profiles.FILE + " does not define");
            });
        }
        return new Routing(in.defaultRelay(), in.defaultRelayText(), in.fallbackRelay(), in.senderRelayMap(),
                Map.copyOf(in.implicitRelayDomains()), Map.copyOf(credentials),
                in.senderDependentAuth().orElse(in.senderCredentialsConfigured()), in.saslEnabled().orElse(configured), level,
                in.wrapperMode(), Map.copyOf(in.oauth2Profiles()), TransportTable.none());
    }
}
