package org.relaymta.server.smtp;

/**
 * What a policy hook decides, in the Apache James style: {@code DECLINED} lets the next hook (and
 * finally the verb) go on; {@code DENY} and {@code DENYSOFT} end the command with their reply.
 * {@code countsAsError}: whether the refusal counts toward {@code smtpd_hard_error_limit}.
 */
record HookResult(Action action, int code, String text, boolean countsAsError) {
    enum Action { DECLINED, DENY, DENYSOFT }

    static final HookResult DECLINED = new HookResult(Action.DECLINED, 0, "", false);

    static HookResult deny(int code, String text) {
        return new HookResult(Action.DENY, code, text, true);
    }

    static HookResult denySoft(int code, String text) {
        return new HookResult(Action.DENYSOFT, code, text, true);
    }

    boolean declined() {
        return action == Action.DECLINED;
    }
}
