package org.relaymta.core.internal.delivery.sasl;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.relaymta.config.internal.Credentials;

/** The password mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195). */
final class PasswordMechanisms {
    private PasswordMechanisms() {
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A mechanism that sends a password: not for credentials whose password is a token reference ({@code {oauth2}profile}). */
    private abstract static class PasswordMechanism implements SaslMechanism {
        private final String name;

        PasswordMechanism(String name) {
            this.name = name;
        }

        @Override
        public final String name() {
            return name;
        }

        @Override
        public final boolean supports(Credentials credentials) {
            return credentials.oauth2Profile().isEmpty();
        }
    }

    static final class Plain extends PasswordMechanism {
        Plain() {
            super("PLAIN");
        }

        @Override
        public Exchange start(Credentials c, SaslTarget target) {
            return new Exchange() {
                @Override
                public String initialResponse() {
                    return b64("\0" + c.username() + "\0" + c.password());
                }

                @Override
                public String respond(String challenge) {
                    // A server that ignored the initial response asks again with an empty challenge.
                    return initialResponse();
                }
            };
        }
    }

    static final class Login extends PasswordMechanism {
        Login() {
            super("LOGIN");
        }

        @Override
        public Exchange start(Credentials c, SaslTarget target) {
            return new Exchange() {
                private int round;

                @Override
                public String initialResponse() {
                    return null;
                }

                @Override
                public String respond(String challenge) {
                    // "Username:" first, then "Password:"; servers word the prompts differently, the order is fixed.
                    return round++ == 0 ? b64(c.username()) : b64(c.password());
                }
            };
        }
    }

    static final class CramMd5 extends PasswordMechanism {
        CramMd5() {
            super("CRAM-MD5");
        }

        @Override
        public Exchange start(Credentials c, SaslTarget target) {
            return new Exchange() {
                @Override
                public String initialResponse() {
                    return null;
                }

                @Override
                public String respond(String challenge) {
                    return response(c, challenge);
                }
            };
        }

        /** base64(user SP hex(HMAC-MD5(password, challenge))); "*" for a malformed challenge. */
        static String response(Credentials c, String challengeB64) {
            try {
                byte[] challenge = Base64.getDecoder().decode(challengeB64.strip());
                Mac mac = Mac.getInstance("HmacMD5");
                mac.init(new SecretKeySpec(c.password().getBytes(StandardCharsets.UTF_8), "HmacMD5"));
                byte[] digest = mac.doFinal(challenge);
                StringBuilder hex = new StringBuilder(32);
                for (byte b : digest) {
                    hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
                }
                return b64(c.username() + " " + hex);
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                return "*";
            }
        }
    }
}
