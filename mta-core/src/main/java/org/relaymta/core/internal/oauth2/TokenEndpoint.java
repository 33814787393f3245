package org.relaymta.core.internal.oauth2;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.relaymta.config.internal.Json;

/**
 * What every talk with an OAuth2 endpoint shares: the form-encoded POST, the JSON answer, the
 * endpoint's error code (only when it looks like one, so no echoed secret can pass), and the
 * endpoint named without its query string.
 */
public final class TokenEndpoint {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TokenEndpoint() {
    }

    /** A POST of {@code fields} as application/x-www-form-urlencoded, asking for JSON. */
    public static HttpRequest post(URI uri, Map<String, String> fields) {
        StringBuilder body = new StringBuilder();
        fields.forEach((k, v) -> body.append(body.length() == 0 ? "" : "&").append(k).append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    }

    /** The answer's JSON object, or null when it is not one. */
    public static Map<String, Object> json(String body) {
        try {
            return Json.members(Json.object(body));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The answer's {@code error} when it is a plain code, else {@code otherwise}. */
    public static String errorCode(Map<String, Object> json, String otherwise) {
        return json != null && json.get("error") instanceof String s && s.matches("[A-Za-z0-9_.-]{1,64}") ? s : otherwise;
    }

    /** The endpoint for messages: scheme, host and path, never a query string. */
    public static String name(URI uri) {
        return uri.getScheme() + "://" + uri.getAuthority() + uri.getPath();
    }
}
