package org.relaymta.examples.mail;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The README's library section shows this example's code, word for word: the two cannot drift apart. */
class ReadmeTest {

    private static String normalized(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining("\n"));
    }

    @Test
    void theReadmeCodeIsTheCodeThisExampleRuns() throws Exception {
        String app = Files.readString(Path.of("src/main/java/org/relaymta/examples/mail/App.java"));
        String code = app.substring(app.indexOf("// README:begin") + "// README:begin".length(), app.indexOf("// README:end"));
        String readme = Files.readString(Path.of("../../README.md"));
        assertTrue(normalized(readme).contains(normalized(code)), "README.md must show App.java's code between the README markers:\n" + code);
        String pom = Files.readString(Path.of("pom.xml"));
        String transformers = pom.substring(pom.indexOf("<transformers>"), pom.indexOf("</transformers>"));
        String mailPart = transformers.substring(0, transformers.indexOf("<transformer implementation=\"org.apache.maven.plugins.shade.resource.ManifestResourceTransformer\">"));
        assertTrue(normalized(readme).contains(normalized(mailPart.replace("<transformers>", "").replaceAll("(?s)<!--.*?-->", ""))),
                "README.md must show the shade transformers this example uses:\n" + mailPart);
    }
}
