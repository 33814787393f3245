package org.relaymta.core.internal.oauth2;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.OAuth2Profile;
import org.relaymta.config.internal.Providers;
import org.relaymta.config.internal.RelayConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Access tokens per OAuth2 profile: cached, handed out while fresh (until 80% of their lifetime),
 * fetched by one request at a time per profile however many sessions want one, and dropped when a
 * server refused them. Grants: client credentials, refresh token (a rotated refresh token is
 * written back atomically, owner-only, before the new access token is used), and Google's JWT
 * bearer for service accounts (RS256, signed with the JDK). Nothing here logs or reports a token,
 * a secret or a refresh token.
 */
public final class OAuth2Tokens {
    private static final Logger log = LoggerFactory.getLogger(OAuth2Tokens.class);

    private final Supplier<RelayConfig> config;
    private final Clock clock;
    private final HttpClient http;
    private final Map<String, AccessToken> cache = new ConcurrentHashMap<>();
    /** What each cached token was issued for: a reload that changes the profile makes it stale. */
    private final Map<String, OAuth2Profile> issuedFor = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<AccessToken>> inFlight = new ConcurrentHashMap<>();
    private volatile BiConsumer<String, String> requests = (profile, result) -> { };
    /** Per profile: token requests that failed in a row, and the last failure's code. */
    private final Map<String, Failures> failures = new ConcurrentHashMap<>();
    /** Microsoft refresh tokens end after 90 days unused (each refresh rotates and renews them). */
    static final Duration MICROSOFT_REFRESH_LIFETIME = Providers.M365.oauth2().orElseThrow()
            .refreshTokenLifetime().orElseThrow();
    static final Duration WARN_BEFORE = Duration.ofDays(7);

    private record Failures(int inARow, String last) {
    }

    /** Told about every token request: the profile and "ok" or the endpoint's error code (or "unreachable"). */
    public void onRequest(BiConsumer<String, String> observer) {
        this.requests = (profile, result) -> {
            if (result.equals("ok")) {
                failures.remove(profile);
            } else {
                failures.merge(profile, new Failures(1, result), (a, b) -> new Failures(a.inARow() + 1, b.last()));
            }
            observer.accept(profile, result);
        };
    }

    /**
     * What an operator should act on before mail stops: token requests that keep failing, a
     * delegated profile without a refresh token, a Microsoft refresh token within a week of its end.
     */
    public List<String> warnings() {
        List<String> out = new ArrayList<>();
        Instant now = clock.instant();
        for (OAuth2Profile p : config.get().routing().oauth2Profiles().values()) {
            Failures f = failures.get(p.name());
            if (f != null && f.inARow() >= 3) {
                out.add("oauth2 profile " + p.name() + ": " + f.inARow() + " token requests failed in a row (last: "
                        + f.last() + ")");
            }
            if (p.grant() == OAuth2Profile.Grant.REFRESH_TOKEN && p.refreshTokenFile().isPresent()) {
                Path file = p.refreshTokenFile().get();
                if (!Files.exists(file)) {
                    out.add("oauth2 profile " + p.name() + ": no refresh token in " + file + " (run: mta oauth2 login "
                            + p.name() + ")");
                } else if (p.provider() == OAuth2Profile.Provider.MICROSOFT) {
                    try {
                        Instant ends = Files.getLastModifiedTime(file).toInstant().plus(MICROSOFT_REFRESH_LIFETIME);
                        if (ends.minus(WARN_BEFORE).isBefore(now)) {
                            out.add("oauth2 profile " + p.name() + ": the refresh token ends around " + ends
                                    + " unless it is used (send mail, or run: mta oauth2 token " + p.name() + ")");
                        }
                    } catch (IOException e) {
                        out.add("oauth2 profile " + p.name() + ": cannot read " + file);
                    }
                }
            }
        }
        return out;
    }

    /** Seconds until the cached token of {@code profile} expires (negative when expired, NaN when none). */
    public double secondsToExpiry(String profile) {
        AccessToken t = cache.get(profile);
        return t == null ? Double.NaN : (t.expires().toEpochMilli() - clock.millis()) / 1000.0;
    }

    public OAuth2Tokens(Supplier<RelayConfig> config, Clock clock) {
        this(config, clock, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build());
    }

    OAuth2Tokens(Supplier<RelayConfig> config, Clock clock, HttpClient http) {
        this.config = config;
        this.clock = clock;
        this.http = http;
        onRequest((profile, result) -> { });
    }

    /** A fresh token of {@code profile}: the cached one, or one request (shared by all who ask meanwhile). */
    public CompletableFuture<AccessToken> token(String profile) {
        AccessToken cached = cache.get(profile);
        if (cached != null && !Objects.equals(config.get().routing().oauth2Profiles().get(profile), issuedFor.get(profile))) {
            // The profile changed (a reload with another client, secret, scope or endpoint): not for this one.
            cache.remove(profile, cached);
            cached = null;
        }
        if (cached != null && cached.fresh(clock.instant())) {
            return CompletableFuture.completedFuture(cached);
        }
        CompletableFuture<AccessToken> mine = new CompletableFuture<>();
        CompletableFuture<AccessToken> running = inFlight.putIfAbsent(profile, mine);
        if (running != null) {
            return running;
        }
        OAuth2Profile asked = config.get().routing().oauth2Profiles().get(profile);
        fetch(profile, asked).whenComplete((t, e) -> {
            inFlight.remove(profile, mine);
            if (e != null) {
                mine.completeExceptionally(e instanceof CompletionException && e.getCause() != null
                        ? e.getCause() : e);
            } else {
                cache.put(profile, t);
                issuedFor.put(profile, asked);
                mine.complete(t);
            }
        });
        return mine;
    }

    /** The cached token's value if it has not expired (for a session being opened now), else null. */
    public String current(String profile) {
        AccessToken t = cache.get(profile);
        return t != null && clock.instant().isBefore(t.expires()) ? t.value() : null;
    }

    /** A server refused {@code value}: it is not handed out again. */
    public void invalidate(String profile, String value) {
        cache.computeIfPresent(profile, (k, t) -> t.value().equals(value) ? null : t);
    }

    private CompletableFuture<AccessToken> fetch(String name, OAuth2Profile p) {
        if (p == null) {
            return CompletableFuture.failedFuture(new OAuth2Exception("no OAuth2 profile '" + name + "'"));
        }
        Map<String, String> form = new LinkedHashMap<>();
        String refreshToken = null;
        try {
            switch (p.grant()) {
                case CLIENT_CREDENTIALS -> {
                    form.put("grant_type", "client_credentials");
                    form.put("client_id", p.clientId());
                    form.put("client_secret", p.clientSecret().orElse(""));
                    form.put("scope", p.scope());
                }
                case REFRESH_TOKEN -> {
                    Path file = p.refreshTokenFile().orElseThrow();
                    if (!Files.exists(file)) {
                        throw new OAuth2Exception("OAuth2 profile " + name + ": no refresh token in " + file
                                + " (run: mta oauth2 login " + name + ")");
                    }
                    refreshToken = Files.readString(file, StandardCharsets.UTF_8).strip();
                    form.put("grant_type", "refresh_token");
                    form.put("refresh_token", refreshToken);
                    form.put("client_id", p.clientId());
                    p.clientSecret().ifPresent(s -> form.put("client_secret", s));
                    form.put("scope", p.scope());
                }
                case JWT_BEARER -> {
                    form.put("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
                    form.put("assertion", serviceAccountJwt(p));
                }
            }
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new OAuth2Exception("OAuth2 profile " + name + ": cannot read "
                    + e.getMessage(), null));
        } catch (OAuth2Exception e) {
            return CompletableFuture.failedFuture(e);
        }
        HttpRequest request = TokenEndpoint.post(p.tokenUrl(), form);
        Instant asked = clock.instant();
        String oldRefresh = refreshToken;
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((response, error) -> {
            if (error != null) {
                requests.accept(name, "unreachable");
                throw new OAuth2Exception("OAuth2 profile " + name + ": token endpoint " + TokenEndpoint.name(p.tokenUrl())
                        + " unreachable: " + error.getClass().getSimpleName(), null);
            }
            Map<String, Object> parsed = TokenEndpoint.json(response.body());
            Map<String, Object> json = parsed == null ? Map.of() : parsed;
            if (response.statusCode() / 100 != 2 || !(json.get("access_token") instanceof String)) {
                String code = TokenEndpoint.errorCode(json, "HTTP " + response.statusCode());
                requests.accept(name, code);
                throw new OAuth2Exception("OAuth2 profile " + name + ": token endpoint " + TokenEndpoint.name(p.tokenUrl())
                        + " refused: " + code);
            }
            long expiresIn = json.get("expires_in") instanceof Number n ? n.longValue()
                    : json.get("expires_in") instanceof String s ? Long.parseLong(s) : 3600;
            if (json.get("refresh_token") instanceof String rotated && !rotated.equals(oldRefresh)
                    && p.refreshTokenFile().isPresent()) {
                // Microsoft rotates refresh tokens: the new one must be on disk before anything relies on it.
                writeSecret(p.refreshTokenFile().get(), rotated);
                log.info("oauth2: profile {}: refresh token rotated and saved to {}", name, p.refreshTokenFile().get());
            }
            String scope = json.get("scope") instanceof String s ? s : p.scope();
            requests.accept(name, "ok");
            log.info("oauth2: profile {}: new access token, expires in {} s", name, expiresIn);
            return new AccessToken((String) json.get("access_token"), asked, asked.plusSeconds(expiresIn), scope);
        });
    }

    /** Writes {@code secret} to {@code file} atomically and owner-only. */
    public static void writeSecret(Path file, String secret) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, secret + "\n", StandardCharsets.UTF_8);
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new OAuth2Exception("cannot save the rotated refresh token to " + file + ": " + e.getMessage(), e);
        }
    }

    /** Google's service-account assertion: RS256 over header.claims, for the profile's subject and scope. */
    private String serviceAccountJwt(OAuth2Profile p) throws IOException {
        Map<String, Object> sa;
        try {
            sa = Json.members(Json.object(Files.readString(p.serviceAccountFile().orElseThrow(), StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException e) {
            throw new OAuth2Exception("OAuth2 profile " + p.name() + ": " + p.serviceAccountFile().get()
                    + " is not a service account JSON file");
        }
        if (!(sa.get("client_email") instanceof String email) || !(sa.get("private_key") instanceof String pem)) {
            throw new OAuth2Exception("OAuth2 profile " + p.name() + ": " + p.serviceAccountFile().get()
                    + " lacks client_email or private_key");
        }
        long now = clock.instant().getEpochSecond();
        String aud = p.tokenUrl().toString();
        JsonObject claims = Json.object();
        claims.addProperty("iss", email);
        claims.addProperty("scope", p.scope());
        claims.addProperty("aud", aud);
        claims.addProperty("iat", now);
        claims.addProperty("exp", now + 3600);
        p.subject().ifPresent(s -> claims.addProperty("sub", s));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
                + "." + b64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        try {
            String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initSign(key);
            sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + b64.encodeToString(sig.sign());
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new OAuth2Exception("OAuth2 profile " + p.name() + ": the service account's private key cannot be used ("
                    + e.getClass().getSimpleName() + ")");
        }
    }
}
