package org.relaymta.config.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.relaymta.config.ConfigException;

/**
 * Reads {@code oauth2-clients.cf}: Postfix {@code main.cf} syntax with the profile name as prefix
 * ({@code m365.client_id = ...}). Every mistake is reported with file and line, and no secret is
 * ever part of a message. Defaults per provider: Microsoft's and Google's token endpoints, the
 * grant from the keys given, and the scope for that grant.
 */
public final class OAuth2Profiles {
    public static final String FILE = "oauth2-clients.cf";

    static final Set<String> KEYS = Set.of("provider", "tenant", "client_id", "client_secret", "client_secret_file",
            "scope", "grant", "refresh_token_file", "service_account_file", "subject", "token_url", "auth_url");

    private OAuth2Profiles() {
    }

    /** The profiles of {@code dir/oauth2-clients.cf} by name; empty when the file does not exist. */
    public static Map<String, OAuth2Profile> load(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return Map.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + ConfigException.why(e), e);
        }
        return parse(lines, dir);
    }

    static Map<String, OAuth2Profile> parse(List<String> lines, Path dir) {
        MainCf cf = MainCf.parse(FILE, lines, true);
        Map<String, Map<String, MainCf.Parameter>> byProfile = new LinkedHashMap<>();
        for (MainCf.Parameter p : cf.parameters().values()) {
            int dot = p.name().indexOf('.');
            String profile = p.name().substring(0, dot);
            String key = p.name().substring(dot + 1).toLowerCase(Locale.ROOT);
            if (!KEYS.contains(key)) {
                throw new ConfigException(p.location(), "unknown key '" + key + "' for profile '" + profile
                        + "' (known: " + String.join(", ", new TreeSet<>(KEYS)) + ")");
            }
            byProfile.computeIfAbsent(profile, k -> new LinkedHashMap<>()).put(key, p);
        }
        Map<String, OAuth2Profile> profiles = new LinkedHashMap<>();
        byProfile.forEach((name, keys) -> profiles.put(name, profile(name, keys, dir)));
        return Map.copyOf(profiles);
    }

    private static OAuth2Profile profile(String name, Map<String, MainCf.Parameter> keys, Path dir) {
        String where = keys.values().iterator().next().location();
        MainCf.Parameter providerParam = keys.get("provider");
        if (providerParam == null) {
            throw new ConfigException(where, "profile '" + name + "' needs " + name
                    + ".provider (microsoft, google, google-service-account or generic)");
        }
        OAuth2Profile.Provider provider = null;
        for (OAuth2Profile.Provider p : OAuth2Profile.Provider.values()) {
            if (p.configName().equalsIgnoreCase(providerParam.value())) {
                provider = p;
            }
        }
        if (provider == null) {
            throw new ConfigException(providerParam.location(), "unknown provider '" + providerParam.value()
                    + "' (microsoft, google, google-service-account or generic)");
        }
        Optional<String> tenant = value(keys, "tenant");
        Optional<String> clientId = value(keys, "client_id");
        Optional<String> secret = value(keys, "client_secret");
        if (secret.isPresent() && keys.containsKey("client_secret_file")) {
            throw new ConfigException(keys.get("client_secret_file").location(),
                    "give " + name + ".client_secret or " + name + ".client_secret_file, not both");
        }
        if (keys.containsKey("client_secret_file")) {
            secret = Optional.of(readSecret(keys.get("client_secret_file"), dir));
        }
        Optional<Path> refreshFile = value(keys, "refresh_token_file").map(dir::resolve);
        Optional<Path> serviceAccount = value(keys, "service_account_file").map(dir::resolve);
        if (serviceAccount.isPresent() && !Files.isReadable(serviceAccount.get())) {
            throw new ConfigException(keys.get("service_account_file").location(),
                    "service account file " + serviceAccount.get() + " is not readable");
        }

        OAuth2Profile.Grant grant = grant(name, keys, provider, refreshFile.isPresent());
        String require = switch (grant) {
            case CLIENT_CREDENTIALS -> clientId.isEmpty() ? "client_id" : secret.isEmpty() ? "client_secret" : null;
            case REFRESH_TOKEN -> clientId.isEmpty() ? "client_id" : refreshFile.isEmpty() ? "refresh_token_file" : null;
            case JWT_BEARER -> serviceAccount.isEmpty() ? "service_account_file" : null;
        };
        if (require != null) {
            throw new ConfigException(where, "profile '" + name + "' (" + provider.configName() + ", grant "
                    + grant.configName() + ") needs " + name + "." + require);
        }

        URI tokenUrl;
        if (keys.containsKey("token_url")) {
            try {
                tokenUrl = URI.create(keys.get("token_url").value());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(keys.get("token_url").location(), "token_url is not a URL");
            }
            if (!"https".equals(tokenUrl.getScheme()) && !"http".equals(tokenUrl.getScheme())) {
                throw new ConfigException(keys.get("token_url").location(), "token_url must be an http(s) URL");
            }
        } else {
            tokenUrl = switch (provider) {
                case MICROSOFT -> {
                    if (tenant.isEmpty()) {
                        throw new ConfigException(where, "profile '" + name + "' (microsoft) needs " + name
                                + ".tenant (the directory id or domain) or " + name + ".token_url");
                    }
                    yield URI.create(Providers.oauth2(provider).orElseThrow().tokenUrl().replace("{tenant}", tenant.get()));
                }
                case GOOGLE, GOOGLE_SERVICE_ACCOUNT -> URI.create(Providers.oauth2(provider).orElseThrow().tokenUrl());
                case GENERIC -> throw new ConfigException(where, "profile '" + name + "' (generic) needs " + name
                        + ".token_url");
            };
        }
        OAuth2Profile.Provider chosen = provider;
        String scope = value(keys, "scope").orElseGet(() -> Providers.oauth2(chosen)
                .map(o -> grant == OAuth2Profile.Grant.CLIENT_CREDENTIALS || grant == OAuth2Profile.Grant.JWT_BEARER
                        ? o.appScope() : o.userScope()).orElse(""));
        URI authUrl;
        if (keys.containsKey("auth_url")) {
            try {
                authUrl = URI.create(keys.get("auth_url").value());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(keys.get("auth_url").location(), "auth_url is not a URL");
            }
        } else {
            String t = tokenUrl.toString();
            authUrl = switch (chosen) {
                case GOOGLE, GOOGLE_SERVICE_ACCOUNT -> URI.create(Providers.oauth2(chosen).orElseThrow().authorizeUrl());
                // Microsoft's and most others' authorize endpoint sits beside the token endpoint.
                case MICROSOFT, GENERIC -> URI.create(t.endsWith("/token") ? t.substring(0, t.length() - 5) + "authorize" : t);
            };
        }
        return new OAuth2Profile(name, chosen, grant, tokenUrl, clientId.orElse(""), secret, scope, refreshFile,
                serviceAccount, value(keys, "subject"), where, authUrl);
    }

    /** The grant given, or the one the provider and keys imply. */
    private static OAuth2Profile.Grant grant(String name, Map<String, MainCf.Parameter> keys,
                                             OAuth2Profile.Provider provider, boolean refreshFile) {
        MainCf.Parameter given = keys.get("grant");
        if (given != null) {
            for (OAuth2Profile.Grant g : OAuth2Profile.Grant.values()) {
                if (g.configName().equalsIgnoreCase(given.value())) {
                    return g;
                }
            }
            throw new ConfigException(given.location(), "unknown grant '" + given.value()
                    + "' (client_credentials, refresh_token or jwt_bearer)");
        }
        return switch (provider) {
            case GOOGLE_SERVICE_ACCOUNT -> OAuth2Profile.Grant.JWT_BEARER;
            case GOOGLE -> OAuth2Profile.Grant.REFRESH_TOKEN;
            case MICROSOFT, GENERIC -> refreshFile ? OAuth2Profile.Grant.REFRESH_TOKEN : OAuth2Profile.Grant.CLIENT_CREDENTIALS;
        };
    }

    private static Optional<String> value(Map<String, MainCf.Parameter> keys, String key) {
        MainCf.Parameter p = keys.get(key);
        return p == null || p.value().isEmpty() ? Optional.empty() : Optional.of(p.value());
    }

    private static String readSecret(MainCf.Parameter fileParam, Path dir) {
        Path file = dir.resolve(fileParam.value());
        try {
            String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (secret.isEmpty()) {
                throw new ConfigException(fileParam.location(), "client secret file " + file + " is empty");
            }
            return secret;
        } catch (IOException e) {
            throw new ConfigException(fileParam.location(), "cannot read client secret file " + file + ": "
                    + ConfigException.why(e));
        }
    }

    /** Profiles named by credentials ({@code {oauth2}NAME}) that the file does not define, for a load-time error. */
    public static List<String> missing(Map<String, OAuth2Profile> profiles, List<String> referenced) {
        List<String> missing = new ArrayList<>();
        for (String r : referenced) {
            if (!profiles.containsKey(r) && !missing.contains(r)) {
                missing.add(r);
            }
        }
        return missing;
    }
}
