package org.relaymta.config.internal;

import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.Locale;

/**
 * One DKIM signing key: the signing domain ({@code d=}), selector ({@code s=}) and private key.
 *
 * @param domain    the signing domain, lower case
 * @param selector  the selector: the public key is at {@code <selector>._domainkey.<domain>}
 * @param key       an RSA or Ed25519 private key
 * @param source    where it was read from (for messages; never its content)
 */
public record DkimKey(String domain, String selector, PrivateKey key, String source) {

    /** {@code rsa-sha256} or {@code ed25519-sha256} (RFC 8463). */
    public String algorithm() {
        return key.getAlgorithm().equals("RSA") ? "rsa-sha256" : "ed25519-sha256";
    }

    static DkimKey read(String domain, String selector, Path file, String where) {
        return new DkimKey(domain.toLowerCase(Locale.ROOT), selector, PemKeys.read(file, where), file.toString());
    }
}
