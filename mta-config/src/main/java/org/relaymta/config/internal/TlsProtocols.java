package org.relaymta.config.internal;

import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.SmtpClientSettings;

/**
 * Postfix protocol lists ({@code >=TLSv1.2}, {@code !TLSv1, !TLSv1.1}, {@code TLSv1.3}) from
 * {@code smtp_tls_mandatory_protocols}, else {@code smtp_tls_protocols}: the protocols allowed,
 * never below TLS 1.2.
 */
final class TlsProtocols {
    private TlsProtocols() {
    }

    static List<String> of(ParamValues v) {
        Param<String> p = v.isSet(Params.SMTP_TLS_MANDATORY_PROTOCOLS) ? Params.SMTP_TLS_MANDATORY_PROTOCOLS : Params.SMTP_TLS_PROTOCOLS;
        try {
            return parse(v.explicit(p).orElse(""));
        } catch (IllegalArgumentException e) {
            throw v.error(p, p.name() + " " + e.getMessage());
        }
    }

    /** The protocols a Postfix list allows; fails when it leaves none. */
    static List<String> parse(String text) {
        if (text.isBlank()) {
            return SmtpClientSettings.DEFAULT_TLS_PROTOCOLS;
        }
        List<String> allowed = new ArrayList<>(SmtpClientSettings.DEFAULT_TLS_PROTOCOLS);
        List<String> only = new ArrayList<>();
        for (String word : text.split("[,:\\s]+")) {
            if (word.isEmpty()) {
                continue;
            }
            if (word.startsWith("!")) {
                allowed.remove(word.substring(1));
            } else if (word.startsWith(">=")) {
                if (word.substring(2).equals("TLSv1.3")) {
                    allowed.remove("TLSv1.2");
                }
            } else {
                only.add(word);
            }
        }
        if (!only.isEmpty()) {
            allowed.retainAll(only);
        }
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException("leaves no supported protocol (TLSv1.2 and TLSv1.3 are supported)");
        }
        return List.copyOf(allowed);
    }
}
