package org.relaymta.core.internal.cleanup;

import org.relaymta.core.internal.spool.HeaderField;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.relaymta.config.internal.DkimKey;

/**
 * Makes a {@code DKIM-Signature} header field (RFC 6376; Ed25519 per RFC 8463): relaxed/relaxed,
 * SHA-256, the header fields OpenDKIM signs by default (RFC 6376 section 5.4.1) that the message
 * has, with {@code From} over-signed so that no From can be added after signing.
 */
final class DkimSigner {
    /** OpenDKIM's default signed header fields. */
    static final List<String> SIGNED = List.of("from", "reply-to", "subject", "date", "to", "cc", "resent-date",
            "resent-from", "resent-sender", "resent-to", "resent-cc", "in-reply-to", "references", "list-id", "list-help",
            "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive");

    private DkimSigner() {
    }

    /** The header field, CRLF-terminated, to put before {@code headers}. */
    static byte[] sign(List<HeaderField> headers, byte[] bodyHash, DkimKey key, long epochSeconds) throws GeneralSecurityException {
        Map<String, Integer> counts = new HashMap<>();
        for (HeaderField f : headers) {
            counts.merge(f.lowerName(), 1, Integer::sum);
        }
        List<String> h = new ArrayList<>();
        for (String name : SIGNED) {
            int n = counts.getOrDefault(name, 0) + (name.equals("from") ? 1 : 0);
            for (int i = 0; i < n; i++) {
                h.add(name);
            }
        }
        // Fields in h= are taken from the bottom up, one instance per mention (RFC 6376 section 5.4.2).
        StringBuilder data = new StringBuilder();
        Map<String, Integer> used = new HashMap<>();
        for (String name : h) {
            int skip = used.merge(name, 1, Integer::sum);
            HeaderField f = nthFromBottom(headers, name, skip);
            if (f != null) {
                data.append(f.relaxed());
            }
        }
        String tags = "v=1; a=" + key.algorithm() + "; c=relaxed/relaxed; d=" + key.domain() + "; s=" + key.selector()
                + ";\r\n\tt=" + epochSeconds + "; h=" + String.join(":", h) + ";\r\n\tbh="
                + Base64.getEncoder().encodeToString(bodyHash) + ";\r\n\tb=";
        HeaderField unsigned = new HeaderField("DKIM-Signature", ("DKIM-Signature: " + tags).getBytes(StandardCharsets.US_ASCII));
        String canonical = unsigned.relaxed();
        data.append(canonical, 0, canonical.length() - 2);   // the signature's own field, without its CRLF
        byte[] signed = signature(key, data.toString().getBytes(StandardCharsets.ISO_8859_1));
        return ("DKIM-Signature: " + tags + fold(Base64.getEncoder().encodeToString(signed)) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static HeaderField nthFromBottom(List<HeaderField> headers, String name, int n) {
        int seen = 0;
        for (int i = headers.size() - 1; i >= 0; i--) {
            if (headers.get(i).lowerName().equals(name) && ++seen == n) {
                return headers.get(i);
            }
        }
        return null;
    }

    private static byte[] signature(DkimKey key, byte[] data) throws GeneralSecurityException {
        if (key.key().getAlgorithm().equals("RSA")) {
            Signature rsa = Signature.getInstance("SHA256withRSA");
            rsa.initSign(key.key());
            rsa.update(data);
            return rsa.sign();
        }
        // ed25519-sha256: Ed25519 over the SHA-256 of the data (RFC 8463 section 3).
        Signature ed = Signature.getInstance("Ed25519");
        ed.initSign(key.key());
        ed.update(MessageDigest.getInstance("SHA-256").digest(data));
        return ed.sign();
    }

    /** Folds the b= value into lines a verifier and a 998-octet limit both accept. */
    private static String fold(String b64) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < b64.length(); i += 72) {
            if (i > 0) {
                out.append("\r\n\t ");
            }
            out.append(b64, i, Math.min(b64.length(), i + 72));
        }
        return out.toString();
    }
}
