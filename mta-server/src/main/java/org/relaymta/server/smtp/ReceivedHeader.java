package org.relaymta.server.smtp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Postfix-style trace header: HELO name, client address literal (no reverse DNS per message),
 * {@code myhostname}, protocol (ESMTP, with S for TLS and A for authenticated), queue id, and the
 * recipient when there is just one; {@code (Authenticated sender: user)} as Postfix writes it with
 * {@code smtpd_sasl_authenticated_header = yes}, so a recipient can tell which account sent the mail.
 */
final class ReceivedHeader {
    private static final DateTimeFormatter RFC_5322_DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z (z)", Locale.ROOT);

    private ReceivedHeader() {
    }

    static String of(String helo, InetAddress client, String hostname, boolean esmtp, boolean tls, String authUser,
                     boolean authenticatedHeader, String queueId, List<String> recipients, Instant now) {
        boolean authenticated = authUser != null;
        String heloName = helo == null ? "unknown" : printableToken(helo);
        String protocol = (esmtp ? "ESMTP" : "SMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
        String literal = client == null ? "unknown"
                : client instanceof Inet6Address ? "IPv6:" + client.getHostAddress() : client.getHostAddress();
        StringBuilder h = new StringBuilder(200);
        h.append("Received: from ").append(heloName).append(" ([").append(literal).append("])\r\n");
        if (authenticated && authenticatedHeader) {
            h.append("\t(Authenticated sender: ").append(printableToken(authUser)).append(")\r\n");
        }
        h.append("\tby ").append(hostname).append(" (Relay MTA) with ").append(protocol).append(" id ").append(queueId);
        if (recipients.size() == 1) {
            h.append("\r\n\tfor <").append(recipients.get(0)).append(">");
        }
        h.append("; ").append(RFC_5322_DATE.format(now.atZone(ZoneId.systemDefault()))).append("\r\n");
        return h.toString();
    }

    private static String printableToken(String s) {
        String t = s.length() > 255 ? s.substring(0, 255) : s;
        return t.replaceAll("[^\\x21-\\x7e]", "?");
    }
}
