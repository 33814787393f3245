package org.relaymta.core.internal.delivery.sasl;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.function.Function;
import org.relaymta.config.internal.Credentials;

/**
 * The bearer-token mechanisms, for credentials whose password is {@code {oauth2}PROFILE}: Google's
 * and Microsoft's {@code XOAUTH2}, and {@code OAUTHBEARER} (RFC 7628). The token comes from
 * {@code tokens} (profile to a current access token, or null when none is at hand): it must be
 * fetched before the session opens, as this runs on the event loop and never waits. When the
 * server refuses the token it sends a 334 error challenge (JSON, base64); the client then sends
 * the response the protocol requires (an empty line for XOAUTH2, {@code AQ==}, a lone ^A, for
 * OAUTHBEARER) and reads the final 535.
 */
public final class OAuth2Mechanisms {
    private OAuth2Mechanisms() {
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private abstract static class BearerMechanism implements SaslMechanism {
        private final String name;
        final Function<String, String> tokens;

        BearerMechanism(String name, Function<String, String> tokens) {
            this.name = name;
            this.tokens = tokens;
        }

        @Override
        public final String name() {
            return name;
        }

        @Override
        public final boolean supports(Credentials credentials) {
            return credentials.oauth2Profile().isPresent();
        }

        String token(Credentials c) {
            String profile = c.oauth2Profile().orElseThrow();
            String token = tokens.apply(profile);
            if (token == null) {
                throw new IllegalStateException("no access token for OAuth2 profile " + profile);
            }
            return token;
        }
    }

    /** {@code base64("user=" USER ^A "auth=Bearer " TOKEN ^A ^A)} as the initial response. */
    public static final class XOAuth2 extends BearerMechanism {
        public XOAuth2(Function<String, String> tokens) {
            super("XOAUTH2", tokens);
        }

        @Override
        public Exchange start(Credentials c, SaslTarget target) {
            String initial = b64("user=" + c.username() + "\u0001auth=Bearer " + token(c) + "\u0001\u0001");
            return new Exchange() {
                @Override
                public String initialResponse() {
                    return initial;
                }

                @Override
                public String respond(String challenge) {
                    // The 334 after the initial response is the error report: answer empty, then read the 535.
                    return "";
                }
            };
        }
    }

    /** RFC 7628: {@code n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A} as the initial response. */
    public static final class OAuthBearer extends BearerMechanism {
        public OAuthBearer(Function<String, String> tokens) {
            super("OAUTHBEARER", tokens);
        }

        @Override
        public Exchange start(Credentials c, SaslTarget target) {
            String initial = b64("n,a=" + saslName(c.username()) + ",\u0001host=" + target.host() + "\u0001port="
                    + target.port() + "\u0001auth=Bearer " + token(c) + "\u0001\u0001");
            return new Exchange() {
                @Override
                public String initialResponse() {
                    return initial;
                }

                @Override
                public String respond(String challenge) {
                    // RFC 7628 3.2.3: the client answers the error challenge with a single ^A.
                    return "AQ==";
                }
            };
        }

        /** RFC 5801 saslname: ',' and '=' escaped. */
        private static String saslName(String user) {
            return user.replace("=", "=3D").replace(",", "=2C");
        }
    }
}
