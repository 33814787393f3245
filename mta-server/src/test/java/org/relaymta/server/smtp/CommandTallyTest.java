package org.relaymta.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CommandTallyTest {
    @Test
    void countsAsPostfixWritesItOnDisconnect() {
        CommandTally t = new CommandTally();
        t.command("EHLO");
        t.replied("250-relay.test\r\n");
        t.replied("250 PIPELINING\r\n");
        t.command("MAIL");
        t.replied("250 2.1.0 Ok\r\n");
        t.command("RCPT");
        t.replied("554 5.7.1 <x@ext.test>: Relay access denied\r\n");
        t.command("RCPT");
        t.replied("250 2.1.5 Ok\r\n");
        t.command("DATA");
        t.replied("354 End data with <CR><LF>.<CR><LF>\r\n");
        t.replied("250 2.0.0 Ok: queued as 1A2B\r\n");
        t.command("HELP");
        t.replied("214 2.0.0 Commands: ...\r\n");
        t.command("QUIT");
        t.replied("221 2.0.0 Bye");
        assertThat(t.summary()).isEqualTo("ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 unknown=1 commands=6/7");
    }

    @Test
    void aSessionWithoutCommandsSaysSo() {
        assertThat(new CommandTally().summary()).isEqualTo("commands=0");
    }

    @Test
    void aCommandLeftWithoutItsFinalReplyIsNotCounted() {
        CommandTally t = new CommandTally();
        t.command("AUTH");
        t.replied("334 VXNlcm5hbWU6\r\n");
        assertThat(t.summary()).isEqualTo("auth=0/1 commands=0/1");
        t.replied("535 5.7.8 Error: authentication failed\r\n");
        assertThat(t.summary()).isEqualTo("auth=0/1 commands=0/1");
    }
}
