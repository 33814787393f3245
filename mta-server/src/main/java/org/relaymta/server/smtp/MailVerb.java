package org.relaymta.server.smtp;

import java.util.List;
import java.util.Locale;

/** MAIL FROM: the path and its parameters (SIZE, BODY, SMTPUTF8, AUTH, REQUIRETLS), then the MAIL hooks. */
final class MailVerb implements Verb {
    private final List<MailHook> hooks;

    MailVerb(List<MailHook> hooks) {
        this.hooks = hooks;
    }

    @Override
    public void handle(SmtpSession session, String arg) {
        SessionState state = session.state();
        if (state.sender() != null) {
            session.reply(503, "5.5.1 Error: nested MAIL command");
            return;
        }
        MailPath path = MailPath.parse(arg, "FROM:");
        if (path == null) {
            session.reply(501, "5.5.4 Syntax: MAIL FROM:<address>");
            return;
        }
        if (!path.address().isEmpty() && !MailPath.plausible(path.address())) {
            session.reply(501, "5.1.7 Bad sender address syntax");
            return;
        }
        boolean requireTls = false;
        for (String param : path.parameters()) {
            if (param.equalsIgnoreCase("REQUIRETLS")) {
                if (!state.tls) {
                    // RFC 8689 section 4.1: offered, and accepted, only over TLS.
                    session.reply(530, "5.7.10 REQUIRETLS needs a TLS session (STARTTLS first)");
                    return;
                }
                requireTls = true;
                continue;
            }
            String refusal = parameter(param, state.config().content().messageSizeLimit());
            if (refusal != null) {
                session.reply(Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4));
                return;
            }
        }
        for (MailHook hook : hooks) {
            HookResult r = hook.mail(state, path);
            if (!r.declined()) {
                session.reply(r);
                return;
            }
        }
        state.startTransaction(path.address());
        state.requireTls = requireTls;
        session.reply(250, "2.1.0 Ok");
    }

    /** The refusal of one MAIL parameter ("code text"), or null when it is acceptable. */
    static String parameter(String param, long sizeLimit) {
        int eq = param.indexOf('=');
        String key = (eq < 0 ? param : param.substring(0, eq)).toUpperCase(Locale.ROOT);
        String value = eq < 0 ? null : param.substring(eq + 1);
        switch (key) {
            case "SIZE" -> {
                // RFC 1870: one to twenty digits, nothing else (no sign, no spaces).
                if (value == null || !value.matches("[0-9]{1,20}")) {
                    return "501 5.5.4 Bad SIZE parameter";
                }
                long declared;
                try {
                    declared = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    declared = Long.MAX_VALUE;
                }
                if (sizeLimit > 0 && declared > sizeLimit) {
                    return "552 5.3.4 Message size exceeds fixed limit";
                }
                return null;
            }
            case "BODY" -> {
                return value != null && (value.equalsIgnoreCase("7BIT") || value.equalsIgnoreCase("8BITMIME"))
                        ? null : "501 5.5.4 Bad BODY parameter";
            }
            case "SMTPUTF8", "AUTH" -> {
                // SMTPUTF8 is accepted as offered; AUTH= (RFC 4954) is informational for a relay.
                return null;
            }
            default -> {
                return "555 5.5.4 Unsupported option: " + SmtpSession.printable(param, 40);
            }
        }
    }
}
