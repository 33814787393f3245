package org.relaymta.config.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import org.relaymta.config.ConfigException;

/**
 * Several relay nodes sharing provider quotas and relay health through one Redis:
 * {@code MTA_REDIS_URL} ({@code redis://[user:password@]host:port[/db]}, {@code rediss://} for TLS;
 * the password may come from {@code MTA_REDIS_PASSWORD} or {@code MTA_REDIS_PASSWORD__FILE}
 * instead) and {@code MTA_CLUSTER_NODES}, the number of nodes, by which each node divides the
 * quotas while Redis cannot be reached. Read at start; a change needs a restart.
 */
public record ClusterSettings(Optional<Redis> redis, int nodes) {
    /** Where Redis is; {@link #toString()} never shows the password. */
    public record Redis(String host, int port, int database, boolean tls, Optional<String> user, Optional<String> password) {
        @Override
        public String toString() {
            return (tls ? "rediss://" : "redis://") + user.map(u -> u + "@").orElse("") + (host.contains(":") ? "[" + host + "]" : host)
                    + ":" + port + "/" + database + (password.isPresent() ? " (with password)" : "");
        }
    }

    public static ClusterSettings none() {
        return new ClusterSettings(Optional.empty(), 1);
    }

    /** From the variables alone (tests, tools); {@link #from(ParamValues)} is what the loader uses. */
    public static ClusterSettings from(Env env) {
        return from(ParamValues.of(MainCf.empty(), env));
    }

    static ClusterSettings from(ParamValues v) {
        int nodes;
        try {
            nodes = v.get(Params.MTA_CLUSTER_NODES);
        } catch (ConfigException e) {
            throw new ConfigException("MTA_CLUSTER_NODES", "'" + v.origin(Params.MTA_CLUSTER_NODES).map(ParamValues.Origin::text)
                    .orElse("") + "' is not a node count (1-1000)");
        }
        Optional<String> url = v.explicit(Params.MTA_REDIS_URL);
        Optional<String> password = v.explicit(Params.MTA_REDIS_PASSWORD);
        if (url.isEmpty()) {
            if (password.isPresent()) {
                throw new ConfigException("MTA_REDIS_PASSWORD", "is set but MTA_REDIS_URL is not");
            }
            return new ClusterSettings(Optional.empty(), nodes);
        }
        return new ClusterSettings(Optional.of(parse(url.get(), password)), nodes);
    }

    /** Parses a Redis URL; errors name the variable but never repeat the URL (it may hold the password). */
    static Redis parse(String text, Optional<String> separatePassword) {
        String where = "MTA_REDIS_URL";
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new ConfigException(where, "not a URL of the form redis://[user:password@]host:port[/db] ("
                    + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("redis") && !scheme.equals("rediss")) {
            throw new ConfigException(where, "the scheme must be redis:// or rediss:// (TLS), not '" + scheme + "'");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new ConfigException(where, "no host (redis://host:6379)");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() < 0 ? 6379 : uri.getPort();
        int db = 0;
        String path = uri.getPath() == null ? "" : uri.getPath();
        if (!path.isEmpty() && !path.equals("/")) {
            try {
                db = Integer.parseInt(path.substring(1));
            } catch (NumberFormatException e) {
                db = -1;
            }
            if (db < 0) {
                throw new ConfigException(where, "the path must be a database number (/0), not '" + path + "'");
            }
        }
        if (uri.getQuery() != null) {
            throw new ConfigException(where, "query parameters are not supported");
        }
        Optional<String> user = Optional.empty();
        Optional<String> password = Optional.empty();
        String info = uri.getRawUserInfo();
        if (info != null && !info.isEmpty()) {
            int colon = info.indexOf(':');
            String u = colon < 0 ? info : info.substring(0, colon);
            if (!u.isEmpty()) {
                user = Optional.of(URLDecoder.decode(u, StandardCharsets.UTF_8));
            }
            if (colon >= 0 && colon + 1 < info.length()) {
                password = Optional.of(URLDecoder.decode(info.substring(colon + 1), StandardCharsets.UTF_8));
            }
        }
        if (password.isPresent() && separatePassword.isPresent()) {
            throw new ConfigException("MTA_REDIS_PASSWORD", "the password is also in MTA_REDIS_URL; give it in one place");
        }
        return new Redis(host, port, db, scheme.equals("rediss"), user, password.or(() -> separatePassword));
    }
}
