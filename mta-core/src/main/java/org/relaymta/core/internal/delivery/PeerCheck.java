package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.Locale;

/**
 * How a server's certificate is checked once the TLS handshake is done, before anything is sent:
 * not at all (may, encrypt), PKIX with names (verify, secure, MTA-STS), SHA-256 digests
 * (fingerprint), or TLSA records (DANE).
 *
 * @param names   reference names the certificate must match (PKIX, STS, DANE-TA); a leading dot
 *                matches any name below it
 * @param digests SHA-256 digests of the certificate or its public key, lower-case hex
 * @param tlsa    the usable TLSA records (DANE)
 */
record PeerCheck(Kind kind, List<String> names, List<String> digests, List<Tlsa> tlsa) {
    enum Kind { NONE, PKIX, FINGERPRINT, DANE, STS }

    PeerCheck {
        names = List.copyOf(names);
        digests = List.copyOf(digests);
        tlsa = List.copyOf(tlsa);
    }

    static PeerCheck none() {
        return new PeerCheck(Kind.NONE, List.of(), List.of(), List.of());
    }

    static PeerCheck pkix(List<String> names) {
        return new PeerCheck(Kind.PKIX, names, List.of(), List.of());
    }

    static PeerCheck sts(List<String> names) {
        return new PeerCheck(Kind.STS, names, List.of(), List.of());
    }

    static PeerCheck fingerprint(List<String> digests) {
        return new PeerCheck(Kind.FINGERPRINT, List.of(), digests, List.of());
    }

    static PeerCheck dane(List<Tlsa> records, List<String> names) {
        return new PeerCheck(Kind.DANE, names, List.of(), records);
    }

    /** As the log and the TLS reports say it: {@code pkix}, {@code dane}, {@code sts}, {@code fingerprint}. */
    String label() {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /** For the connection cache key: sessions checked differently are not shared. */
    String key() {
        return kind + ":" + String.join(",", names) + ":" + String.join(",", digests) + ":" + tlsa.size();
    }
}
