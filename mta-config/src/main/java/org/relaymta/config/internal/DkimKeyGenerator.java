package org.relaymta.config.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.relaymta.config.ConfigException;

/**
 * {@code mta setup dkim}: a key pair per domain in docker-mailserver's OpenDKIM layout (as its
 * {@code setup config dkim} makes them): {@code opendkim/keys/<domain>/<selector>.private} (PKCS#8
 * PEM, owner-only), {@code <selector>.txt} (the DNS TXT record, as opendkim-genkey writes it), and
 * the {@code KeyTable} and {@code SigningTable} lines with the container paths.
 */
public final class DkimKeyGenerator {
    /** What was made for one domain: the record name and its TXT value. */
    public record Generated(String domain, String selector, String algorithm, Path privateKey, String recordName, String txt) {
    }

    private final Path configDir;

    public DkimKeyGenerator(Path configDir) {
        this.configDir = configDir;
    }

    /** Makes a key for {@code domain} unless one with this selector exists; {@code keyType} is rsa or ed25519. */
    public Generated generate(String domain, String selector, String keyType, int rsaBits) throws IOException {
        String d = domain.toLowerCase(Locale.ROOT).strip();
        if (!d.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")) {
            throw new ConfigException("domain", "'" + domain + "' is not a domain name");
        }
        if (!selector.matches("[A-Za-z0-9][A-Za-z0-9-]*")) {
            throw new ConfigException("selector", "'" + selector + "' is not a DKIM selector (letters, digits, '-')");
        }
        Path dir = configDir.resolve("opendkim").resolve("keys").resolve(d);
        Path privateFile = dir.resolve(selector + ".private");
        Path txtFile = dir.resolve(selector + ".txt");
        String recordName = selector + "._domainkey." + d;
        if (Files.exists(privateFile)) {
            throw new ConfigException(privateFile.toString(), "a key for " + recordName + " already exists; remove it first to replace it");
        }
        KeyPair pair;
        String k;
        String publicKey;
        try {
            if (keyType.equals("ed25519")) {
                pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                byte[] spki = pair.getPublic().getEncoded();
                publicKey = Base64.getEncoder().encodeToString(Arrays.copyOfRange(spki, spki.length - 32, spki.length));
                k = "ed25519";
            } else if (keyType.equals("rsa")) {
                if (rsaBits < 1024 || rsaBits > 4096) {
                    throw new ConfigException("keysize", rsaBits + " is not a key size from 1024 to 4096 (2048 is usual)");
                }
                KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
                rsa.initialize(rsaBits);
                pair = rsa.generateKeyPair();
                publicKey = Base64.getEncoder().encodeToString(pair.getPublic().getEncoded());
                k = "rsa";
            } else {
                throw new ConfigException("keytype", "'" + keyType + "' is not rsa or ed25519");
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot generate a " + keyType + " key: " + e.getMessage(), e);
        }
        Files.createDirectories(dir);
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(pair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        writeOwnerOnly(privateFile, pem);
        String txt = "v=DKIM1; h=sha256; k=" + k + "; p=" + publicKey;
        Files.writeString(txtFile, recordName + ". IN TXT ( " + quoted(txt) + " ) ; ----- DKIM key " + selector + " for " + d + "\n",
                StandardCharsets.US_ASCII);
        String name = recordName;
        appendLine(configDir.resolve(DkimTable.KEY_TABLE), name + " " + d + ":" + selector + ":/etc/opendkim/keys/" + d + "/"
                + selector + ".private");
        appendLine(configDir.resolve(DkimTable.SIGNING_TABLE), "*@" + d + " " + name);
        return new Generated(d, selector, k.equals("rsa") ? "rsa-sha256" : "ed25519-sha256", privateFile, recordName, txt);
    }

    /** The TXT value in quoted strings of at most 255 characters, as DNS zone files need. */
    public static String quoted(String txt) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < txt.length(); i += 255) {
            parts.add("\"" + txt.substring(i, Math.min(txt.length(), i + 255)) + "\"");
        }
        return String.join(" ", parts);
    }

    private static void writeOwnerOnly(Path file, String content) throws IOException {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(file);
        }
        Files.writeString(file, content, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static void appendLine(Path file, String line) throws IOException {
        Files.createDirectories(file.getParent());
        String existing = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        for (String l : existing.split("\n")) {
            if (l.strip().equals(line)) {
                return;
            }
        }
        String sep = existing.isEmpty() || existing.endsWith("\n") ? "" : "\n";
        Files.writeString(file, existing + sep + line + "\n", StandardCharsets.UTF_8);
    }
}
