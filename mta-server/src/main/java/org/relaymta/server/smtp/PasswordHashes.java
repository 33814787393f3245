package org.relaymta.server.smtp;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import org.apache.commons.codec.digest.Crypt;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * Checks passwords against dovecot-style hashes as docker-mailserver writes them in
 * {@code postfix-accounts.cf}: {@code {SHA512-CRYPT}$6$...}, {@code {SHA256-CRYPT}$5$...},
 * {@code {BLF-CRYPT}$2y$...}, {@code {MD5-CRYPT}$1$...}, {@code {PLAIN}...}.
 */
final class PasswordHashes {
    private PasswordHashes() {
    }

    static boolean matches(String schemeAndHash, String password) {
        String scheme = "";
        String hash = schemeAndHash;
        if (hash.startsWith("{")) {
            int close = hash.indexOf('}');
            if (close > 0) {
                scheme = hash.substring(1, close).toUpperCase(Locale.ROOT);
                hash = hash.substring(close + 1);
            }
        }
        try {
            switch (scheme) {
                case "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "CRYPT", "" -> {
                    if (!hash.startsWith("$")) {
                        return false;
                    }
                    return constantTimeEquals(Crypt.crypt(password.getBytes(StandardCharsets.UTF_8), hash), hash);
                }
                case "BLF-CRYPT" -> {
                    return OpenBSDBCrypt.checkPassword(hash, password.toCharArray());
                }
                case "PLAIN", "CLEARTEXT" -> {
                    return constantTimeEquals(password, hash);
                }
                default -> {
                    return false;
                }
            }
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean constantTimeEquals(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
