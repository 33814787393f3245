package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;

/** The README's example program runs as documented and delivers its 100 messages. */
class ExampleProgramIT {
    @TempDir
    Path temp;

    @Test
    void sendHundredDeliversEveryMessageAndPrintsEvents() throws Exception {
        int port = RelayHarness.freePort();
        Wiser wiser = Wiser.port(port);
        wiser.start();
        try {
            Path example = Path.of("..", "examples", "SendHundred.java").toAbsolutePath().normalize();
            Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", MtaProcessIT.serverJar().toString(), example.toString(), "[127.0.0.1]:" + port))
                    .directory(temp.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("queued 100 messages");
            assertThat(out.lines().filter(l -> l.startsWith("SENT "))).hasSize(100);
            assertThat(wiser.getMessages()).hasSize(100);
        } finally {
            wiser.stop();
        }
    }
}
