package org.relaymta.server.oauth2;

import org.relaymta.core.internal.oauth2.OAuth2Exception;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.core.internal.oauth2.TokenEndpoint;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.relaymta.config.internal.OAuth2Profile;

/**
 * The first refresh token of a delegated profile, by the OAuth2 device authorization grant (RFC
 * 8628, what Microsoft calls the device code flow): the endpoint hands out a user code, the user
 * signs in with it in any browser, and the tokens arrive by polling. The refresh token goes to the
 * profile's {@code refresh_token_file} (atomically, owner-only); nothing here prints a token.
 */
public final class DeviceLogin {
    /** What the user must do, from the endpoint's answer. */
    public record Prompt(String userCode, String verificationUri, String message) {
    }

    /** How the polling is paced between tries (tests move it along). */
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    private final HttpClient http;
    private final Sleeper sleeper;

    public DeviceLogin() {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), d -> Thread.sleep(d.toMillis()));
    }

    DeviceLogin(HttpClient http, Sleeper sleeper) {
        this.http = http;
        this.sleeper = sleeper;
    }

    /** The device endpoint beside the token endpoint: Microsoft's {@code .../oauth2/v2.0/devicecode}. */
    static URI deviceEndpoint(URI tokenUrl) {
        String s = tokenUrl.toString();
        int slash = s.lastIndexOf('/');
        return URI.create(s.substring(0, slash + 1) + "devicecode");
    }

    /**
     * Runs the flow for {@code p}: shows the prompt, polls until the user signed in (or the code
     * expired, or was declined), and saves the refresh token. Returns the access token's lifetime in seconds.
     */
    public long login(OAuth2Profile p, Consumer<Prompt> show) throws IOException, InterruptedException {
        if (p.grant() != OAuth2Profile.Grant.REFRESH_TOKEN || p.refreshTokenFile().isEmpty()) {
            throw new OAuth2Exception("profile " + p.name() + " does not use refresh tokens (grant "
                    + p.grant().configName() + "): nothing to log in for");
        }
        if (p.provider() == OAuth2Profile.Provider.GOOGLE) {
            throw new OAuth2Exception("profile " + p.name() + ": Google does not allow the device flow for mail;"
                    + " sign in with a browser instead (BrowserLogin, mta oauth2 login)");
        }
        Map<String, Object> device = post(deviceEndpoint(p.tokenUrl()), Map.of("client_id", p.clientId(), "scope", p.scope()),
                p.name());
        if (!(device.get("device_code") instanceof String deviceCode) || !(device.get("user_code") instanceof String userCode)) {
            throw new OAuth2Exception("profile " + p.name() + ": the device endpoint refused: " + error(device));
        }
        String uri = device.get("verification_uri") instanceof String u ? u : String.valueOf(device.get("verification_url"));
        String message = device.get("message") instanceof String m ? m
                : "To sign in, open " + uri + " in a browser and enter the code " + userCode;
        show.accept(new Prompt(userCode, uri, message));
        long interval = device.get("interval") instanceof Number n ? n.longValue() : 5;
        long expiresIn = device.get("expires_in") instanceof Number n ? n.longValue() : 900;
        long waited = 0;
        while (waited <= expiresIn) {
            sleeper.sleep(Duration.ofSeconds(interval));
            waited += interval;
            Map<String, String> form = new LinkedHashMap<>();
            form.put("grant_type", "urn:ietf:params:oauth:grant-type:device_code");
            form.put("client_id", p.clientId());
            form.put("device_code", deviceCode);
            p.clientSecret().ifPresent(s -> form.put("client_secret", s));
            Map<String, Object> answer = post(p.tokenUrl(), form, p.name());
            if (answer.get("refresh_token") instanceof String refresh) {
                OAuth2Tokens.writeSecret(p.refreshTokenFile().get(), refresh);
                return answer.get("expires_in") instanceof Number n ? n.longValue() : 0;
            }
            String code = error(answer);
            if (code.equals("authorization_pending")) {
                continue;
            }
            if (code.equals("slow_down")) {
                interval += 5;
                continue;
            }
            throw new OAuth2Exception("profile " + p.name() + ": sign-in did not complete: " + code);
        }
        throw new OAuth2Exception("profile " + p.name() + ": the code expired before the sign-in completed");
    }

    private static String error(Map<String, Object> json) {
        return TokenEndpoint.errorCode(json, "no usable answer");
    }

    private Map<String, Object> post(URI uri, Map<String, String> form, String profile) throws IOException, InterruptedException {
        HttpResponse<String> response;
        try {
            response = http.send(TokenEndpoint.post(uri, form), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new OAuth2Exception("profile " + profile + ": " + TokenEndpoint.name(uri) + " unreachable: "
                    + e.getClass().getSimpleName());
        }
        Map<String, Object> json = TokenEndpoint.json(response.body());
        return json != null ? json : Map.of("error", "HTTP_" + response.statusCode());
    }
}
