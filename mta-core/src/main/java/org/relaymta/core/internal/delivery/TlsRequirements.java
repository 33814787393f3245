package org.relaymta.core.internal.delivery;

import java.util.List;
import java.util.Optional;
import org.relaymta.config.TlsLevel;
import org.relaymta.core.internal.tls.ReportPolicy;

/**
 * What a session to one server must do about TLS, as the {@link DestinationPolicy} step decided it:
 * the level, how the certificate is checked after the handshake, whether a TLS failure defers the
 * mail (or, for {@code may}, falls back to plain text), which rule decided, and the protocols and
 * cipher grade of a per-destination policy.
 *
 * @param level         the Postfix security level in force for this session
 * @param check         how the server's certificate is checked once the handshake is done
 * @param failureDefers no TLS, or a failed handshake or check, defers instead of sending in plain text
 * @param enforced      a failed check ends the session; false for MTA-STS {@code testing}: reported, then sent
 * @param source        what set the level: {@code smtp_tls_security_level}, {@code wrapper mode}, a table's file:line, ...
 * @param protocols     the protocols a policy table entry allows; empty: the global setting
 * @param ciphers       the table entry's cipher grade ({@code high}, ...); empty: the default
 * @param sni           the TLS server name; empty: the server's host name
 * @param report        for delivery to a recipient domain's MX: the policy its TLS reports count the session under
 * @param requireTls    REQUIRETLS: the server must offer it, and MAIL FROM carries it
 */
record TlsRequirements(TlsLevel level, PeerCheck check, boolean failureDefers, boolean enforced, String source,
                       List<String> protocols, Optional<String> ciphers, Optional<String> sni, Optional<ReportPolicy> report,
                       boolean requireTls) {
    TlsRequirements {
        protocols = List.copyOf(protocols);
    }

    static TlsRequirements of(TlsLevel level, PeerCheck check, boolean failureDefers, String source) {
        return new TlsRequirements(level, check, failureDefers, true, source, List.of(), Optional.empty(), Optional.empty(),
                Optional.empty(), false);
    }

    /** The plain-text retry after an opportunistic handshake failed, or level none. */
    static TlsRequirements none(String source) {
        return of(TlsLevel.NONE, PeerCheck.none(), false, source);
    }

    /** The name sent as SNI: the policy's, else the first reference name that is a name, else the server's host name. */
    String serverName(Target target) {
        if (sni.isPresent()) {
            return sni.get();
        }
        for (String n : check.names()) {
            if (!n.startsWith(".")) {
                return n;
            }
        }
        return target.hostName();
    }

    TlsRequirements withProtocols(List<String> p, Optional<String> c) {
        return new TlsRequirements(level, check, failureDefers, enforced, source, p, c, sni, report, requireTls);
    }

    /** The same, counted in the TLS reports under {@code policy}. */
    TlsRequirements reportedAs(ReportPolicy policy) {
        return new TlsRequirements(level, check, failureDefers, enforced, source, protocols, ciphers, sni, Optional.of(policy),
                requireTls);
    }

    /**
     * For a REQUIRETLS message: the check mandatory and enforced (an MTA-STS policy in testing mode
     * counts as enforce, RFC 8689 section 4.2.1), the server must offer REQUIRETLS.
     */
    TlsRequirements requiringTls(String why) {
        TlsLevel l = level.mandatory() ? level : TlsLevel.VERIFY;
        return new TlsRequirements(l, check, true, true, source + ", " + why, protocols, ciphers, sni, report, true);
    }

    /**
     * {@code TLS-Required: No} (RFC 8689 section 5): a DANE or MTA-STS check that fails is reported,
     * and the mail goes as opportunistic TLS would send it.
     */
    TlsRequirements relaxed() {
        return new TlsRequirements(TlsLevel.MAY, check, false, false, source + ", relaxed by TLS-Required: No", protocols,
                ciphers, sni, report, false);
    }

    /** For the connection cache: sessions under different requirements are not shared. */
    String key() {
        return level + "|" + check.key() + "|" + failureDefers + "|" + enforced + "|" + String.join(",", protocols) + "|"
                + ciphers.orElse("") + "|" + sni.orElse("") + "|" + requireTls;
    }
}
