package org.relaymta.config.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import org.relaymta.config.ConfigException;

/**
 * Private keys as DKIM tools write them, read with the JDK alone: PKCS#8 PEM ({@code BEGIN PRIVATE
 * KEY}: opendkim-genkey with OpenSSL 3, {@code mta setup dkim}), PKCS#1 PEM ({@code BEGIN RSA
 * PRIVATE KEY}: older opendkim-genkey), and Rspamd's Ed25519 keys as bare base64 (a 32-byte seed,
 * or seed and public key). Errors name the file, never the key.
 */
public final class PemKeys {
    /** PKCS#8 prefix of an Ed25519 key (RFC 8410): SEQ { INTEGER 0, SEQ { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }. */
    private static final byte[] ED25519_PKCS8_PREFIX = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
            0x70, 0x04, 0x22, 0x04, 0x20};
    /** AlgorithmIdentifier of rsaEncryption with NULL parameters. */
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7,
            0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

    private PemKeys() {
    }

    public static PrivateKey read(Path file, String where) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ConfigException(where, "cannot read the DKIM key " + file + ": " + ConfigException.why(e), e);
        }
        try {
            return parse(text);
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new ConfigException(where, "the DKIM key " + file + " is not a PEM private key (PKCS#8 or PKCS#1 RSA) "
                    + "or an Ed25519 seed in base64");
        }
    }

    static PrivateKey parse(String text) throws GeneralSecurityException {
        if (text.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            return rsa(pkcs1ToPkcs8(body(text, "RSA PRIVATE KEY")));
        }
        if (text.contains("-----BEGIN PRIVATE KEY-----")) {
            byte[] der = body(text, "PRIVATE KEY");
            try {
                return rsa(der);
            } catch (GeneralSecurityException notRsa) {
                return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
            }
        }
        byte[] raw = Base64.getDecoder().decode(text.strip());
        if (raw.length != 32 && raw.length != 64) {
            throw new IllegalArgumentException("not a key");
        }
        byte[] der = new byte[ED25519_PKCS8_PREFIX.length + 32];
        System.arraycopy(ED25519_PKCS8_PREFIX, 0, der, 0, ED25519_PKCS8_PREFIX.length);
        System.arraycopy(raw, 0, der, ED25519_PKCS8_PREFIX.length, 32);
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    private static PrivateKey rsa(byte[] pkcs8) throws GeneralSecurityException {
        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    }

    private static byte[] body(String text, String label) {
        String begin = "-----BEGIN " + label + "-----";
        int start = text.indexOf(begin) + begin.length();
        int end = text.indexOf("-----END " + label + "-----", start);
        if (end < 0) {
            throw new IllegalArgumentException("no END line");
        }
        return Base64.getMimeDecoder().decode(text.substring(start, end));
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo. */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        inner.writeBytes(new byte[] {0x02, 0x01, 0x00});
        inner.writeBytes(RSA_ALGORITHM);
        inner.write(0x04);
        writeLength(inner, pkcs1.length);
        inner.writeBytes(pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30);
        writeLength(out, inner.size());
        out.writeBytes(inner.toByteArray());
        return out.toByteArray();
    }

    private static void writeLength(ByteArrayOutputStream out, int length) {
        if (length < 128) {
            out.write(length);
        } else if (length < 256) {
            out.write(0x81);
            out.write(length);
        } else if (length < 65536) {
            out.write(0x82);
            out.write(length >> 8);
            out.write(length & 0xff);
        } else {
            out.write(0x83);
            out.write(length >> 16);
            out.write((length >> 8) & 0xff);
            out.write(length & 0xff);
        }
    }
}
