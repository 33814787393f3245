package org.relaymta.server;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.Env;
import org.relaymta.core.internal.delivery.DnsHostResolver;

/**
 * What {@code mta run} needs besides the relay configuration: where to listen and keep the spool,
 * where the config directory is, and the process environment (DMS variables).
 *
 * @param listen     listener address (default 127.0.0.1:2525)
 * @param spoolDir   spool directory (default ./data/spool)
 * @param configDir  config directory in docker-mailserver layout (default ./config)
 * @param env        environment variables
 * @param dnsServers DNS servers for MX lookups; empty: /etc/resolv.conf
 * @param directPort port for direct MX delivery (25)
 * @param adminListen admin endpoint address (queue control, health, metrics), or null for none
 * @param submissionListen submission listener (STARTTLS and AUTH required), or null for none
 * @param smtpsListen      implicit-TLS listener (AUTH required), or null for none
 */
public record ServerSettings(InetSocketAddress listen, Path spoolDir, Path configDir, Env env,
                             List<InetSocketAddress> dnsServers, int directPort, InetSocketAddress adminListen,
                             InetSocketAddress submissionListen, InetSocketAddress smtpsListen) {

    /** The same settings with only the main listener and admin endpoint (tests, embedding). */
    public ServerSettings(InetSocketAddress listen, Path spoolDir, Path configDir, Env env,
                          List<InetSocketAddress> dnsServers, int directPort, InetSocketAddress adminListen) {
        this(listen, spoolDir, configDir, env, dnsServers, directPort, adminListen, null, null);
    }

    public ServerSettings withSubmission(InetSocketAddress submission, InetSocketAddress smtps) {
        return new ServerSettings(listen, spoolDir, configDir, env, dnsServers, directPort, adminListen, submission, smtps);
    }

    /** The same settings with another spool directory (a node's own spool under a shared root). */
    public ServerSettings withSpoolDir(Path dir) {
        return new ServerSettings(listen, dir, configDir, env, dnsServers, directPort, adminListen, submissionListen, smtpsListen);
    }

    /** Where generated state other than the spool lives (the self-signed certificate): the spool's parent. */
    public Path dataDir() {
        Path parent = spoolDir.toAbsolutePath().getParent();
        return parent == null ? spoolDir : parent;
    }

    public static final String DEFAULT_LISTEN = "127.0.0.1:2525";
    public static final String DEFAULT_SPOOL = "./data/spool";
    public static final String DEFAULT_CONFIG = "./config";
    public static final String DEFAULT_ADMIN = "127.0.0.1:9108";

    /** Parses {@code host:port}, {@code [v6]:port} or {@code :port} (all addresses). */
    public static InetSocketAddress parseListen(String text, String where) {
        String s = text.strip();
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw new ConfigException(where, "listen address '" + s + "' must be host:port");
        }
        String host = s.substring(0, colon);
        String portText = s.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(portText);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new ConfigException(where, "listen address '" + s + "': port '" + portText + "' is not a number from 0 to 65535");
        }
        return host.isEmpty() || host.equals("*") ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    /** Parses {@code MTA_DNS_SERVERS}-style lists with a clear error. */
    public static List<InetSocketAddress> parseDnsServers(String text, String where) {
        try {
            return DnsHostResolver.parseServers(text);
        } catch (RuntimeException e) {
            throw new ConfigException(where, "invalid DNS server list '" + text + "' (expected host:port,...)");
        }
    }
}
