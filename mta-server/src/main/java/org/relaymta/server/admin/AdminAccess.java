package org.relaymta.server.admin;

import io.netty.handler.codec.http.HttpHeaders;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.relaymta.config.internal.Env;

/**
 * Who may use the admin endpoint. {@code /health} and {@code /metrics} are open (no addresses, no
 * bodies, no secrets); the queue needs {@code Authorization: Bearer <token>}, compared in constant
 * time. Every request is refused ({@code 403}) when it carries an {@code Origin} header of another
 * origin (a web page elsewhere; the endpoint's own dashboard is its own origin) or a {@code Host}
 * that is not the listen address, a loopback name or an address of this machine (DNS rebinding).
 *
 * <p>The token is {@code MTA_ADMIN_TOKEN} (or the file named by {@code MTA_ADMIN_TOKEN__FILE});
 * without it a random one is made at start and written to {@code <spool>/admin.token} (mode 0600),
 * where {@code mta queue} finds it: a local operator needs no configuration.
 */
public final class AdminAccess {
    public static final String TOKEN_FILE = "admin.token";

    /** Why a request is refused, or null. */
    public record Refusal(int status, String error) {
    }

    private final byte[] token;
    private final Set<String> allowedHosts;

    private AdminAccess(String token, Set<String> allowedHosts) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.allowedHosts = allowedHosts;
    }

    /** The token from the environment, else a new random one written to {@code <spool>/admin.token}. */
    public static AdminAccess forRelay(Env env, Path spoolDir, InetSocketAddress listen) throws IOException {
        Optional<String> configured = env.get("MTA_ADMIN_TOKEN").map(String::strip).filter(t -> !t.isEmpty());
        String token = configured.isPresent() ? configured.get() : newToken(spoolDir);
        return new AdminAccess(token, allowedHosts(listen));
    }

    private static String newToken(Path spoolDir) throws IOException {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Files.createDirectories(spoolDir);
        Path tmp = spoolDir.resolve(TOKEN_FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, spoolDir.resolve(TOKEN_FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return token;
    }

    /** Names a request may carry in Host: loopback names, the listen address, and this machine's addresses. */
    private static Set<String> allowedHosts(InetSocketAddress listen) {
        Set<String> hosts = new HashSet<>(Set.of("localhost", "127.0.0.1", "[::1]", "::1"));
        if (listen.getAddress() != null && !listen.getAddress().isAnyLocalAddress()) {
            hosts.add(hostText(listen.getAddress()));
        }
        if (listen.getHostString() != null) {
            hosts.add(listen.getHostString().toLowerCase(Locale.ROOT));
        }
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                    hosts.add(hostText(a));
                }
            }
        } catch (SocketException e) {
            // loopback and the listen address still work
        }
        return Set.copyOf(hosts);
    }

    private static String hostText(InetAddress a) {
        String text = a.getHostAddress();
        int zone = text.indexOf('%');
        if (zone >= 0) {
            text = text.substring(0, zone);
        }
        return text.contains(":") ? "[" + text + "]" : text;
    }

    /** Null when the request may go on; {@code control} says whether it needs the token. */
    public Refusal check(HttpHeaders headers, boolean control) {
        String origin = headers.get("Origin");
        if (origin != null && !origin.equalsIgnoreCase("http://" + headers.get("Host"))) {
            // Only the endpoint's own page (the dashboard, same origin) may call it from a browser.
            return new Refusal(403, "requests from other web pages (with a foreign Origin header) are not accepted");
        }
        if (headers.getAll("Host").size() > 1 || !hostAllowed(headers.get("Host"))) {
            return new Refusal(403, "the Host header names neither this machine nor the admin listen address");
        }
        if (!control) {
            return null;
        }
        String auth = headers.get("Authorization");
        if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return new Refusal(401, "an admin token is required (Authorization: Bearer; see <spool>/admin.token)");
        }
        byte[] given = auth.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, token)) {
            return new Refusal(401, "wrong admin token");
        }
        return null;
    }

    private boolean hostAllowed(String host) {
        if (host == null) {
            return true; // HTTP/1.0 clients: the Origin check and the token still apply
        }
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end > 0 ? h.substring(0, end + 1) : h;
        } else {
            int colon = h.lastIndexOf(':');
            if (colon > 0 && h.indexOf(':') == colon) {
                h = h.substring(0, colon);
            }
        }
        return allowedHosts.contains(h);
    }
}
