package org.relaymta.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/** Every log format keeps a value from outside on its line: the provider escapes arguments, and exception messages. */
class RelayLogTest {
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    @AfterEach
    void restore() {
        RelayLog.toStream(System.out);
        RelayLog.configure(RelayLog.Format.PLAIN, Level.INFO, null, null);
    }

    private String log(RelayLog.Format format, String pattern, Object... args) {
        captured.reset();
        RelayLog.toStream(new PrintStream(captured, true, StandardCharsets.UTF_8));
        RelayLog.configure(format, Level.INFO, "postfix", "relay.test");
        Logger logger = new RelayLogProvider().getLoggerFactory().getLogger("org.relaymta.delivery");
        logger.info(pattern, args);
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aValueWithLineBreaksStaysOnItsLineInEveryFormat() {
        String hostile = "x\"} fake_metric 1\r\n2026-12-04 [INFO] delivery - fake: to=<ceo@bank.test> status=sent\u202e";
        for (RelayLog.Format f : RelayLog.Format.values()) {
            String out = log(f, "TLS connection established to {}: {}", hostile, "TLSv1.3");
            assertThat(out.lines()).as(f.name()).hasSize(1);
            assertThat(out).as(f.name()).doesNotContain("\r", "\u202e")
                    .contains(f == RelayLog.Format.JSON ? "\\\\r\\\\n2026-12-04" : "\\r\\n2026-12-04");
        }
        String json = log(RelayLog.Format.JSON, "value {}", hostile);
        assertThat(json).contains("\"message\": \"value x\\\"} fake_metric 1\\\\r\\\\n2026");
    }

    @Test
    void exceptionMessagesAreEscapedButTheTraceKeepsItsShape() {
        captured.reset();
        RelayLog.toStream(new PrintStream(captured, true, StandardCharsets.UTF_8));
        RelayLog.configure(RelayLog.Format.PLAIN, Level.INFO, null, null);
        Logger logger = new RelayLogProvider().getLoggerFactory().getLogger("org.relaymta.delivery");
        logger.warn("failed", new IllegalStateException("reply\r\n2026 [INFO] forged", new RuntimeException("cause\nline")));
        String out = captured.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("java.lang.IllegalStateException: reply\\r\\n2026 [INFO] forged")
                .contains("Caused by: java.lang.RuntimeException: cause\\nline").contains("\tat ");
        assertThat(out.lines()).noneMatch(l -> l.startsWith("2026 [INFO]") || l.equals("line"));
    }
}
