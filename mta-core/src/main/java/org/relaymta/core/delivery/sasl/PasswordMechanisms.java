package org.relaymta.core.delivery.sasl;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.relaymta.config.Credentials;

/** The password mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195). */
final class PasswordMechanisms {
    private PasswordMechanisms() {
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Credentials whose password is a token reference ({@code {oauth2}profile}) are for token mechanisms. */
    static boolean isPassword(Credentials c) {
        return !c.password().startsWith("{oauth2}");
    }

    static final class Plain implements SaslMechanism {
        @Override
        public String name() {
            return "PLAIN";
        }

        @Override
        public boolean supports(Credentials credentials) {
            return isPassword(credentials);
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

    static final class Login implements SaslMechanism {
        @Override
        public String name() {
            return "LOGIN";
        }

        @Override
        public boolean supports(Credentials credentials) {
            return isPassword(credentials);
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

    static final class CramMd5 implements SaslMechanism {
        @Override
        public String name() {
            return "CRAM-MD5";
        }

        @Override
        public boolean supports(Credentials credentials) {
            return isPassword(credentials);
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
                javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacMD5");
                mac.init(new javax.crypto.spec.SecretKeySpec(c.password().getBytes(StandardCharsets.UTF_8), "HmacMD5"));
                byte[] digest = mac.doFinal(challenge);
                StringBuilder hex = new StringBuilder(32);
                for (byte b : digest) {
                    hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
                }
                return b64(c.username() + " " + hex);
            } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
                return "*";
            }
        }
    }
}
