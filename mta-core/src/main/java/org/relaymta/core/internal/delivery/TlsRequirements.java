package org.relaymta.core.internal.delivery;

import java.util.List;
import org.relaymta.config.TlsLevel;

/**
 * What a session to one server must do about TLS, as the {@link DestinationPolicy} step decided it:
 * the level, the names the server's certificate must match (for the levels that check it), whether
 * a TLS failure defers the mail (or, for {@code may}, falls back to plain text), and which rule
 * decided, for the log. DANE and MTA-STS add their own matches here.
 *
 * @param level         the Postfix security level in force for this session
 * @param matchNames    names the certificate must match; the first is also the TLS server name
 * @param failureDefers no TLS, or a failed handshake or check, defers instead of sending in plain text
 * @param source        what set the level: {@code smtp_tls_security_level}, {@code wrapper mode}, ...
 */
record TlsRequirements(TlsLevel level, List<String> matchNames, boolean failureDefers, String source) {
    TlsRequirements {
        matchNames = List.copyOf(matchNames);
    }

    /** The plain-text retry after an opportunistic handshake failed. */
    static TlsRequirements none(String source) {
        return new TlsRequirements(TlsLevel.NONE, List.of(), false, source);
    }

    /** The name sent as SNI and checked by the verifying levels: the first match name, else the server's host name. */
    String serverName(Target target) {
        return matchNames.isEmpty() ? target.hostName() : matchNames.get(0);
    }
}
