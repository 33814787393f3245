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
public record ClusterSettings(Optional<Redis> redis, int nodes, Takeover takeover) {
    /**
     * Spool takeover ({@code MTA_SPOOL_TAKEOVER}): this node's spool is {@code <MTA_SPOOL_DIR>/<nodeId>};
     * {@code lease} is {@code spool_lease_time}; {@code exitWhenFenced} what a node whose spool was
     * taken over does ({@code MTA_SPOOL_FENCED}).
     */
    public record Takeover(boolean on, String nodeId, java.time.Duration lease, boolean exitWhenFenced) {
        public static Takeover off() {
            return new Takeover(false, "", java.time.Duration.ofSeconds(15), true);
        }
    }

    public ClusterSettings(Optional<Redis> redis, int nodes) {
        this(redis, nodes, Takeover.off());
    }

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
        Takeover takeover = takeover(v, url.isPresent());
        if (url.isEmpty()) {
            if (password.isPresent()) {
                throw new ConfigException("MTA_REDIS_PASSWORD", "is set but MTA_REDIS_URL is not");
            }
            return new ClusterSettings(Optional.empty(), nodes, takeover);
        }
        return new ClusterSettings(Optional.of(parse(url.get(), password)), nodes, takeover);
    }

    private static Takeover takeover(ParamValues v, boolean redis) {
        if (!v.get(Params.MTA_SPOOL_TAKEOVER)) {
            return Takeover.off();
        }
        if (!redis) {
            throw new ConfigException("MTA_SPOOL_TAKEOVER", "is on but MTA_REDIS_URL is not set: the spools' leases live in Redis");
        }
        String id = v.explicit(Params.MTA_NODE_ID).map(String::strip).filter(s -> !s.isEmpty())
                .orElseGet(ClusterSettings::hostName);
        if (!id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw new ConfigException("MTA_NODE_ID", "'" + LogText.controls(id) + "' is not a node name (letters, digits, '.', "
                    + "'_' and '-', at most 63): it names the node's spool directory");
        }
        java.time.Duration lease = v.get(Params.SPOOL_LEASE_TIME);
        if (lease.compareTo(java.time.Duration.ofSeconds(3)) < 0) {
            throw new ConfigException(v.where(Params.SPOOL_LEASE_TIME), "spool_lease_time must be at least 3s");
        }
        return new Takeover(true, id, lease, v.get(Params.MTA_SPOOL_FENCED).equals("exit"));
    }

    private static String hostName() {
        try {
            String h = java.net.InetAddress.getLocalHost().getHostName();
            int dot = h.indexOf('.');
            return dot > 0 ? h.substring(0, dot) : h;
        } catch (java.io.IOException e) {
            return "node";
        }
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
