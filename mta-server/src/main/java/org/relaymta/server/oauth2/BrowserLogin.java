package org.relaymta.server.oauth2;

import org.relaymta.core.internal.oauth2.OAuth2Exception;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.oauth2.TokenEndpoint;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.relaymta.config.internal.OAuth2Profile;

/**
 * The first refresh token by a browser sign-in with a loopback redirect (RFC 8252, what Google
 * requires for mail): a one-shot HTTP listener on 127.0.0.1 receives the authorization code,
 * which PKCE (S256) and a state value bind to this run, and the code is exchanged for tokens. The
 * refresh token goes to the profile's {@code refresh_token_file}, owner-only.
 */
public final class BrowserLogin {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String query(Map<String, String> fields) {
        StringBuilder b = new StringBuilder();
        fields.forEach((k, v) -> b.append(b.length() == 0 ? "" : "&").append(k).append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return b.toString();
    }

    /** Shows the sign-in URL, waits up to {@code timeout} for the redirect, saves the refresh token. */
    public void login(OAuth2Profile p, Consumer<String> showUrl, Duration timeout) throws IOException, InterruptedException {
        if (p.grant() != OAuth2Profile.Grant.REFRESH_TOKEN || p.refreshTokenFile().isEmpty()) {
            throw new OAuth2Exception("profile " + p.name() + " does not use refresh tokens (grant "
                    + p.grant().configName() + "): nothing to log in for");
        }
        String verifier = random();
        String state = random();
        String challenge;
        try {
            challenge = Base64.getUrlEncoder().withoutPadding().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        CompletableFuture<String> code = new CompletableFuture<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            Map<String, String> query = new HashMap<>();
            String raw = exchange.getRequestURI().getRawQuery();
            for (String pair : raw == null ? new String[0] : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    query.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            boolean ok = state.equals(query.get("state")) && query.containsKey("code");
            byte[] page = (ok ? "Signed in. You can close this window." : "Sign-in failed: "
                    + query.getOrDefault("error", "unexpected request")).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(ok ? 200 : 400, page.length);
            exchange.getResponseBody().write(page);
            exchange.close();
            if (ok) {
                code.complete(query.get("code"));
            } else if (query.containsKey("error") && state.equals(query.get("state"))) {
                code.completeExceptionally(new OAuth2Exception("profile " + p.name() + ": sign-in refused: "
                        + query.get("error").replaceAll("[^A-Za-z0-9_.-]", "?")));
            }
        });
        server.start();
        String redirect = "http://127.0.0.1:" + server.getAddress().getPort() + "/";
        try {
            Map<String, String> params = new LinkedHashMap<>();
            params.put("client_id", p.clientId());
            params.put("redirect_uri", redirect);
            params.put("response_type", "code");
            params.put("scope", p.scope());
            params.put("access_type", "offline");
            params.put("prompt", "consent");
            params.put("code_challenge", challenge);
            params.put("code_challenge_method", "S256");
            params.put("state", state);
            showUrl.accept(p.authUrl() + "?" + query(params));
            String authorization;
            try {
                authorization = code.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new OAuth2Exception("profile " + p.name() + ": no sign-in within " + timeout.toSeconds() + " s");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof OAuth2Exception o ? o : new OAuth2Exception(e.getCause().toString());
            }
            Map<String, String> exchange = new LinkedHashMap<>();
            exchange.put("grant_type", "authorization_code");
            exchange.put("code", authorization);
            exchange.put("client_id", p.clientId());
            p.clientSecret().ifPresent(s -> exchange.put("client_secret", s));
            exchange.put("redirect_uri", redirect);
            exchange.put("code_verifier", verifier);
            HttpResponse<String> response = http.send(TokenEndpoint.post(p.tokenUrl(), exchange),
                    HttpResponse.BodyHandlers.ofString());
            Map<String, Object> json = TokenEndpoint.json(response.body());
            if (json == null || !(json.get("refresh_token") instanceof String refresh)) {
                String error = TokenEndpoint.errorCode(json, "HTTP " + response.statusCode() + " without a refresh token");
                throw new OAuth2Exception("profile " + p.name() + ": the code exchange failed: " + error);
            }
            OAuth2Tokens.writeSecret(p.refreshTokenFile().get(), refresh);
        } finally {
            server.stop(0);
        }
    }
}
