package org.relaymta.core.internal.delivery;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * Checks a server's certificate after the handshake, as its {@link PeerCheck} says, before the
 * relay sends anything more: PKIX (the chain against the trust store, then the reference names,
 * RFC 6125 wildcards in the left-most label only), SHA-256 digests of the certificate or public
 * key, or TLSA records (RFC 7671/7672: DANE-EE matches the leaf alone, without name or date checks;
 * DANE-TA matches a certificate of the presented chain, which must then lead to the leaf, and the
 * leaf must name the destination). The handshake itself trusts any certificate: checking here keeps
 * every level's check in one place and words its failure.
 */
final class PeerVerifier {
    /** Why a check failed, in the RFC 8460 result type and Postfix's words. */
    record Failure(String resultType, String reason) {
    }

    private final X509TrustManager trust;
    private final Clock clock;

    PeerVerifier(X509TrustManager trust, Clock clock) {
        this.trust = trust;
        this.clock = clock;
    }

    /** Empty when {@code session}'s peer passes {@code check}. */
    Optional<Failure> check(SSLSession session, PeerCheck check) {
        if (check.kind() == PeerCheck.Kind.NONE) {
            return Optional.empty();
        }
        X509Certificate[] chain;
        try {
            Certificate[] certs = session.getPeerCertificates();
            chain = new X509Certificate[certs.length];
            for (int i = 0; i < certs.length; i++) {
                chain[i] = (X509Certificate) certs[i];
            }
        } catch (SSLPeerUnverifiedException | ClassCastException e) {
            return Optional.of(new Failure("validation-failure", "no server certificate"));
        }
        if (chain.length == 0) {
            return Optional.of(new Failure("validation-failure", "no server certificate"));
        }
        return check(chain, check);
    }

    Optional<Failure> check(X509Certificate[] chain, PeerCheck check) {
        return switch (check.kind()) {
            case NONE -> Optional.empty();
            case PKIX, STS -> pkix(chain, check.names());
            case FINGERPRINT -> fingerprint(chain[0], check.digests());
            case DANE -> dane(chain, check);
        };
    }

    private Optional<Failure> pkix(X509Certificate[] chain, List<String> names) {
        try {
            trust.checkServerTrusted(chain, "UNKNOWN");
        } catch (CertificateException e) {
            Throwable cause = e;
            while (cause != null) {
                if (cause instanceof CertificateExpiredException || cause instanceof CertificateNotYetValidException) {
                    return Optional.of(new Failure("certificate-expired", "Server certificate not trusted: "
                            + "certificate expired or not yet valid"));
                }
                cause = cause.getCause();
            }
            return Optional.of(new Failure("certificate-not-trusted", "Server certificate not trusted: " + e.getMessage()));
        }
        return names(chain[0], names);
    }

    private static Optional<Failure> names(X509Certificate leaf, List<String> names) {
        List<String> presented = presentedNames(leaf);
        for (String reference : names) {
            for (String p : presented) {
                if (nameMatches(p, reference)) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(new Failure("certificate-host-mismatch", "Server certificate not verified: names "
                + presented + " match none of " + names));
    }

    /** DNS subject alternative names, else the subject's common name (RFC 6125 section 6.4.4). */
    static List<String> presentedNames(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0)) && san.get(1) instanceof String s) {
                        out.add(s.toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException ignored) {
            // no usable names
        }
        if (out.isEmpty()) {
            for (String rdn : cert.getSubjectX500Principal().getName(X500Principal.RFC2253).split("(?<!\\\\)[,+]")) {
                if (rdn.regionMatches(true, 0, "CN=", 0, 3)) {
                    out.add(rdn.substring(3).replace("\\", "").toLowerCase(Locale.ROOT));
                }
            }
        }
        return out;
    }

    /**
     * {@code presented} (maybe {@code *.example.com}) against {@code reference} (a name, or
     * {@code .example.com} for any name below it, Postfix's dot-nexthop).
     */
    static boolean nameMatches(String presented, String reference) {
        String p = strip(presented);
        String r = strip(reference);
        if (r.startsWith(".")) {
            return !p.startsWith("*.") && p.endsWith(r) && p.length() > r.length()
                    || p.startsWith("*.") && p.substring(1).endsWith(r);
        }
        if (p.startsWith("*.")) {
            int dot = r.indexOf('.');
            return dot > 0 && r.substring(dot).equals(p.substring(1)) && p.indexOf('.', 2) > 0;
        }
        return p.equals(r);
    }

    private static String strip(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static Optional<Failure> fingerprint(X509Certificate leaf, List<String> digests) {
        String cert = HexFormat.of().formatHex(sha256(encoded(leaf)));
        String key = HexFormat.of().formatHex(sha256(leaf.getPublicKey().getEncoded()));
        if (digests.contains(cert) || digests.contains(key)) {
            return Optional.empty();
        }
        return Optional.of(new Failure("validation-failure", "Server certificate not verified: fingerprint "
                + colons(cert) + " (public key " + colons(key) + ") is not one of the configured ones"));
    }

    private Optional<Failure> dane(X509Certificate[] chain, PeerCheck check) {
        for (Tlsa t : check.tlsa()) {
            if (t.usage() == Tlsa.DANE_EE && t.matches(associated(chain[0], t))) {
                return Optional.empty();   // RFC 7672 3.1.1: no name check, no expiry check
            }
        }
        for (Tlsa t : check.tlsa()) {
            if (t.usage() != Tlsa.DANE_TA) {
                continue;
            }
            for (int i = 1; i < chain.length; i++) {
                if (t.matches(associated(chain[i], t)) && leadsTo(chain, i)) {
                    return names(chain[0], check.names()).map(f -> new Failure("certificate-host-mismatch",
                            "Server certificate not verified: DANE-TA matched, but " + f.reason().replaceFirst(
                                    "^Server certificate not verified: ", "")));
                }
            }
        }
        return Optional.of(new Failure("tlsa-invalid", "Server certificate not verified: no TLSA record matches the "
                + "certificate chain (" + check.tlsa().size() + " usable record(s))"));
    }

    /** Each certificate below {@code ta} is signed by the next and valid now. */
    private boolean leadsTo(X509Certificate[] chain, int ta) {
        Date now = Date.from(clock.instant());
        try {
            for (int i = 0; i < ta; i++) {
                chain[i].checkValidity(now);
                chain[i].verify(chain[i + 1].getPublicKey());
            }
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static byte[] associated(X509Certificate cert, Tlsa t) {
        byte[] selected = t.selector() == 0 ? encoded(cert) : cert.getPublicKey().getEncoded();
        return switch (t.matching()) {
            case 1 -> sha256(selected);
            case 2 -> digest("SHA-512", selected);
            default -> selected;
        };
    }

    private static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (GeneralSecurityException e) {
            return new byte[0];
        }
    }

    static byte[] sha256(byte[] data) {
        return digest("SHA-256", data);
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String colons(String hex) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < hex.length(); i += 2) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(hex, i, i + 2);
        }
        return sb.toString().toUpperCase(Locale.ROOT);
    }
}
