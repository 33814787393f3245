package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * The receiver's signature checks that docs/events.md shows, in Python and in Node.js, run as
 * written against a batch a real relay signed: they accept it, and refuse it with one byte of the
 * body changed, with another key, or with an old timestamp.
 */
class WebhookSignatureIT {
    private static final String KEY = "doc-example-key";

    @TempDir
    Path temp;

    @Test
    void theDocumentedChecksAcceptTheRelaysSignatureAndNothingElse() throws Exception {
        String doc = Files.readString(Path.of("../docs/events.md"));
        String python = block(doc, "python");
        String node = block(doc, "javascript");
        try (ScriptedSmtpServer up = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            return cmd.startsWith("EHLO") ? "250 scripted.test" : cmd.equals("DATA") ? "354 go" : "250 ok";
        }); WebhookReceiver receiver = WebhookReceiver.http(KEY);
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + up.port())) {
            Files.writeString(relay.configDir.resolve("hook.key"), KEY + "\n");
            relay.mainCf("event_webhooks = http://127.0.0.1:" + receiver.port() + "/e").mainCf("event_webhook_secret_file = hook.key")
                    .start();
            relay.server.engine().submit("app@one.test", List.of("ok@ext.test"),
                    "Subject: sig\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (receiver.lastBody == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(receiver.lastBody).as("a signed batch arrived").isNotNull();
            Path body = temp.resolve("body.json");
            Files.writeString(body, receiver.lastBody);
            Path tampered = temp.resolve("tampered.json");
            Files.writeString(tampered, receiver.lastBody.replaceFirst("ok@ext.test", "ok@ext.tesu"));
            String header = receiver.lastSignature;
            String old = header.replaceFirst("t=(\\d+)", "t=" + (Long.parseLong(header.replaceAll("^t=(\\d+),.*", "$1")) - 3600));

            for (String[] lang : List.of(new String[] {"python3", "py", python + "\nimport sys\n"
                    + "print(verify(sys.argv[1].encode(), sys.argv[2], open(sys.argv[3], 'rb').read()))\n"},
                    new String[] {"node", "js", node + "\nconst fs = require('fs');\n"
                            + "console.log(verify(process.argv[2], process.argv[3], fs.readFileSync(process.argv[4])) ? 'True' : 'False');\n"})) {
                Path script = temp.resolve("verify." + lang[1]);
                Files.writeString(script, lang[2]);
                assertThat(run(lang[0], script, KEY, header, body)).as(lang[0] + ": the relay's batch").isEqualTo("True");
                assertThat(run(lang[0], script, KEY, header, tampered)).as(lang[0] + ": a changed body").isEqualTo("False");
                assertThat(run(lang[0], script, "another-key", header, body)).as(lang[0] + ": another key").isEqualTo("False");
                assertThat(run(lang[0], script, KEY, old, body)).as(lang[0] + ": an hour-old timestamp").isEqualTo("False");
            }
        }
    }

    private static String block(String doc, String language) {
        Matcher m = Pattern.compile("```" + language + "\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        assertThat(m.find()).as("a " + language + " example in docs/events.md").isTrue();
        return m.group(1);
    }

    private static String run(String program, Path script, String key, String header, Path body) throws Exception {
        Process p = new ProcessBuilder(program, script.toString(), key, header, body.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }
}
