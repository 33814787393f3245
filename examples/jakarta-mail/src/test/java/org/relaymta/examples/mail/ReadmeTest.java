package org.relaymta.examples.mail;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        String readme = Files.readString(Path.of("../../docs/library.md"));
        assertTrue(normalized(readme).contains(normalized(code)), "README.md must show App.java's code between the README markers:\n" + code);
        String pom = Files.readString(Path.of("pom.xml"));
        String transformers = pom.substring(pom.indexOf("<transformers>"), pom.indexOf("</transformers>"));
        String mailPart = transformers.substring(0, transformers.indexOf("<transformer implementation=\"org.apache.maven.plugins.shade.resource.ManifestResourceTransformer\">"));
        assertTrue(normalized(readme).contains(normalized(mailPart.replace("<transformers>", "").replaceAll("(?s)<!--.*?-->", ""))),
                "README.md must show the shade transformers this example uses:\n" + mailPart);
    }

    /** The README's dependency snippet for {@code artifactId}, as groupId:artifactId:version. */
    private static String readmeCoordinates(String readme, String artifactId) {
        int at = readme.indexOf("<artifactId>" + artifactId + "</artifactId>");
        assertTrue(at > 0, "README.md shows no dependency on " + artifactId);
        String block = readme.substring(readme.lastIndexOf("<dependency>", at), readme.indexOf("</dependency>", at));
        return tag(block, "groupId") + ":" + tag(block, "artifactId") + ":" + tag(block, "version");
    }

    private static String tag(String xml, String name) {
        int start = xml.indexOf("<" + name + ">") + name.length() + 2;
        return xml.substring(start, xml.indexOf("</" + name + ">", start)).strip();
    }

    /** What the example's pom really depends on: groupId:artifactId and the relay-mta.version property. */
    private static String pomCoordinates(Path pom, String artifactId) throws Exception {
        String xml = Files.readString(pom);
        String version = tag(xml, "relay-mta.version");
        int at = xml.indexOf("<artifactId>" + artifactId + "</artifactId>");
        assertTrue(at > 0, pom + " does not depend on " + artifactId);
        String block = xml.substring(xml.lastIndexOf("<dependency>", at), xml.indexOf("</dependency>", at));
        return tag(block, "groupId") + ":" + artifactId + ":" + tag(block, "version").replace("${relay-mta.version}", version);
    }

    @Test
    void theReadmeCoordinatesAreTheOnesTheExamplesBuildWith() throws Exception {
        String readme = Files.readString(Path.of("../../docs/library.md"));
        assertEquals(pomCoordinates(Path.of("pom.xml"), "mta-core"), readmeCoordinates(readme, "mta-core"));
        for (String boot : new String[] {"boot3", "boot4"}) {
            assertEquals(pomCoordinates(Path.of("../spring-boot", boot, "pom.xml"), "relay-mta-spring-boot-starter"),
                    readmeCoordinates(readme, "relay-mta-spring-boot-starter"));
        }
    }
}
